// Package plugin finds, verifies and launches connector plugins: the only
// host package that speaks go-plugin.
//
// # Finding plugins
//
// A plugin is an executable named sqlflow-plugin-<type> in a plugins
// directory, chosen by [ResolveDir]: the --plugins-dir flag, else
// $SQLFLOW_PLUGINS_DIR, else plugins_dir in the pipeline file, else
// plugins/ beside the host binary.
//
// # Verifying plugins
//
// Before a plugin runs, [CheckPermissions] holds the plugins directory, the
// binary, every symbolic link's target (hop by hop) and every directory
// above each of them up to the root to the rule of [Perms]: owned by root
// or the host's effective user, not writable by group or others (as
// OpenSSH's StrictModes). A problem refuses the plugin with an
// [UnsafeError] naming the path, its owner and mode and the fix, unless
// Perms.Insecure, which logs a warning per problem instead. The same rule
// holds for plugins.lock when it is read and for its directory when
// [WriteLock] writes it.
//
// When plugins.lock exists in the directory (written by [WriteLock]), a
// binary whose SHA-256 differs from its pinned value is refused before it
// runs, and go-plugin's SecureConfig checks the hash again at exec time.
//
// # Launching plugins
//
// [Launcher.Start] runs one process per connector instance with AutoMTLS,
// gRPC message limits raised to the protocol's cap, gRPC's own retries off,
// its stderr logged under the instance's name (the last lines kept for
// error messages), its own process group and a parent-death signal, so a
// plugin never outlives the host even when the host is SIGKILLed.
//
// # Sockets
//
// Each launcher gives its plugins a private directory for their Unix
// sockets, $TMPDIR/sqlflow-host-<uid>/run-<pid>-<start>-<random> (both
// levels 0700; an existing sqlflow-host-<uid> that is not private to the
// user is refused), through go-plugin's PLUGIN_UNIX_SOCKET_DIR. The first
// Start creates it after removing the run directories of hosts that are
// gone (their pid is dead, a zombie, or reused by a process that started
// at another time); [Launcher.Close] removes it.
package plugin
