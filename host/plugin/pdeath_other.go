//go:build !linux

package plugin

import "syscall"

func setParentDeathSignal(a *syscall.SysProcAttr) {}
