// Package importrules holds no code: its test pins the import rules of the
// repository with `go list` (docs/architecture.md, "Layout"):
//
//   - nothing under host/ or cmd/ imports a package under plugins/;
//   - a plugin (plugins/NAME/...) imports, from this repository, only the
//     SDK module (github.com/sqlflow/sqlflow-host/sdk/...) and its own
//     packages under plugins/NAME/;
//   - the SDK module imports nothing of the host's module;
//   - only the wire layer touches the transport: go-plugin is imported by
//     the SDK's Serve (package sdk), sdk/protocol, the conformance kit's
//     launcher (sdk/sdktest) and the host's launcher (host/plugin); the
//     generated protocol package by package sdk (the server side),
//     sdk/protocol and sdk/rpcclient (the client side) alone.
//
// The rules cover the files that build into binaries and libraries; tests
// may reach further (a host test may run a built-in connector in-process).
package importrules
