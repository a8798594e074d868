// Package config decodes and validates a pipeline file (YAML), reporting
// every problem with its file:line:col and field path.
//
// # Loading
//
// [Load] reads a file and [Parse] decodes bytes. Both decode the whole file
// before failing, so one run reports every problem at once as an
// [ErrorList] of [*Error]s, each printing as
//
//	pipeline.yaml:12:11: flows[2].mode: "merge" is not allowed; use replace, append or upsert
//
// A pipeline that loads has passed every check that needs only the file:
// names, types, references between flows and connectors, flow defaults and
// conflicts. Checks that need the plugins (their specs and their Configure
// answers) come later; [Pipeline.CheckModes] and [Connector.FieldError] turn
// their results into the same error format.
//
// # Environment variables
//
// ${VAR} and ${VAR:-default} are expanded in every scalar string value
// (never in keys); $$ is a literal $. A plain (unquoted) value whose text
// came from expansion is typed as if it had been written there, so
// "port: ${PG_PORT}" gives a number; a quoted one stays a string, as does
// any value under a secret-looking key (see [IsSecretKey]). Values that
// reference a variable and values under secret-looking keys are masked by
// [Connector.Redacted], and no error message quotes a connector's values.
// [Connector.Resolve] expands a connector's configuration again, e.g. to
// pick up refreshed credentials. Keys ending in _file (password_file) are
// passed to the connector as they are: the connector reads the file.
//
// # Anchors
//
// YAML anchors, aliases and merge keys (<<: *defaults) work anywhere.
// Top-level keys starting with "x-" are ignored, so they can hold anchors.
package config
