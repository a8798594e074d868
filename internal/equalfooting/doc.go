// Package equalfooting holds no code: its test pins that the host treats
// built-in connectors and third-party ones alike (issue 19, part 3). What
// the host needs to know about a connector (its default resilience
// policy, the keys naming its remote host, its older type names, whether
// it had the old retry keys) comes from the connector's Spec, so no
// connector's type name, alias or type-specific configuration key appears
// as a string literal in the host's non-test code under host/.
//
// The names checked are read from the built-in plugins' own Spec literals
// (plugins/*/...: Name, Aliases, DefaultHost, and the HostKeys beyond the
// host's generic list), so a new built-in is covered without editing the
// test.
package equalfooting
