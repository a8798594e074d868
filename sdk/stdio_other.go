//go:build !linux

package sdk

import "os"

func protectStdout() *os.File          { return os.Stdout }
func restoreStdout(handshake *os.File) { os.Stdout = handshake }
func watchParent()                     {}
