//go:build unix

package testenv

import (
	"os"
	"syscall"
)

// ownerOf returns the uid owning a file, when the platform tells.
func ownerOf(st os.FileInfo) (int, bool) {
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return int(s.Uid), true
	}
	return 0, false
}
