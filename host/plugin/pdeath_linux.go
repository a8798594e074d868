package plugin

import "syscall"

// setParentDeathSignal asks the kernel to SIGKILL the plugin when the host
// thread that started it dies, so a SIGKILLed host leaves no plugin behind.
// The plugin side (sdk.Serve) also watches its parent, as a second line.
func setParentDeathSignal(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGKILL }
