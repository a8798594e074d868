package sdk

import (
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// protectStdout points file descriptor 1 at stderr, so nothing the
// connector (or a C library it links) writes to stdout can corrupt the
// go-plugin handshake, and returns a file on the real stdout for the
// handshake itself. os.Stdout is set to stderr meanwhile.
func protectStdout() *os.File {
	fd, err := unix.Dup(1)
	if err != nil {
		return os.Stdout
	}
	if err := unix.Dup3(2, 1, 0); err != nil {
		unix.Close(fd)
		return os.Stdout
	}
	unix.CloseOnExec(fd)
	os.Stdout = os.Stderr
	return os.NewFile(uintptr(fd), "/dev/stdout")
}

// restoreStdout hands the real stdout to go-plugin for the handshake line;
// go-plugin replaces os.Stdout with its own pipe right after writing it.
func restoreStdout(handshake *os.File) { os.Stdout = handshake }

// watchParent makes the plugin die with its host: a parent-death signal
// (SIGKILL when the host process's thread that started us exits), and a
// watchdog that exits when the plugin is re-parented, in case the signal
// was missed (the host died before prctl ran).
func watchParent() {
	ppid := os.Getppid()
	_ = unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0)
	if os.Getppid() != ppid || ppid == 1 {
		os.Exit(1)
	}
	go func() {
		for {
			time.Sleep(500 * time.Millisecond)
			if os.Getppid() != ppid {
				os.Exit(1)
			}
		}
	}()
}
