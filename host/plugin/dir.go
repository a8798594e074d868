package plugin

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// BinaryPrefix starts the file name of every plugin executable.
const BinaryPrefix = "sqlflow-plugin-"

// EnvPluginsDir names the environment variable that sets the plugins
// directory when no flag does.
const EnvPluginsDir = "SQLFLOW_PLUGINS_DIR"

// Dir is a resolved plugins directory and where its choice came from.
type Dir struct {
	// Path is the directory.
	Path string
	// From says which rule chose it: "--plugins-dir", "$SQLFLOW_PLUGINS_DIR",
	// "plugins_dir in <file>" or "beside the host binary".
	From string
}

func (d Dir) String() string { return fmt.Sprintf("%s (from %s)", d.Path, d.From) }

// ResolveDir picks the plugins directory: flag, else the environment
// variable, else the pipeline file's plugins_dir (relative to the file's
// directory), else plugins/ beside the host executable.
func ResolveDir(flag string, getenv func(string) string, fileDir, pipelineFile, fileSetting string) Dir {
	switch {
	case flag != "":
		return Dir{Path: abs(flag), From: "--plugins-dir"}
	case getenv(EnvPluginsDir) != "":
		return Dir{Path: abs(getenv(EnvPluginsDir)), From: "$" + EnvPluginsDir}
	case fileSetting != "":
		p := fileSetting
		if !filepath.IsAbs(p) {
			p = filepath.Join(fileDir, p)
		}
		return Dir{Path: abs(p), From: "plugins_dir in " + pipelineFile}
	}
	exe, err := os.Executable()
	if err == nil {
		if r, err := filepath.EvalSymlinks(exe); err == nil {
			exe = r
		}
		return Dir{Path: filepath.Join(filepath.Dir(exe), "plugins"), From: "beside the host binary"}
	}
	return Dir{Path: abs("plugins"), From: "beside the host binary"}
}

func abs(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// ErrUnknownType is wrapped by the error Find returns when no plugin
// implements a connector type. Test with errors.Is.
var ErrUnknownType = errors.New("unknown connector type")

// Binary is one plugin executable found in a plugins directory.
type Binary struct {
	// Type is the connector type (the file name without BinaryPrefix).
	Type string
	// Path is the executable's absolute path.
	Path string
}

// List returns the plugins in dir, sorted by type. A missing directory is an
// error that names it.
func List(dir Dir) ([]Binary, error) {
	entries, err := os.ReadDir(dir.Path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("plugins directory %s does not exist", dir)
		}
		return nil, fmt.Errorf("read plugins directory %s: %w", dir, err)
	}
	var out []Binary
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, BinaryPrefix) || e.IsDir() || strings.HasSuffix(name, ".lock") {
			continue
		}
		info, err := e.Info()
		if err != nil || info.Mode()&0o111 == 0 {
			continue
		}
		out = append(out, Binary{Type: strings.TrimPrefix(name, BinaryPrefix), Path: filepath.Join(dir.Path, name)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Type < out[j].Type })
	return out, nil
}

// Find returns the plugin named after a connector type
// (sqlflow-plugin-<typ>). When there is none, the error lists the plugins
// found and where it looked. Launcher.Find also finds a plugin by an alias
// its Spec declares.
func Find(dir Dir, typ string) (Binary, error) {
	bins, err := List(dir)
	if err != nil {
		return Binary{}, fmt.Errorf("%w %q: %w", ErrUnknownType, typ, err)
	}
	for _, b := range bins {
		if b.Type == typ {
			return b, nil
		}
	}
	names := make([]string, len(bins))
	for i, b := range bins {
		names[i] = b.Type
	}
	found := "none"
	if len(names) > 0 {
		found = strings.Join(names, ", ")
	}
	return Binary{}, fmt.Errorf("%w %q: no %s%s in plugins directory %s; plugins found: %s",
		ErrUnknownType, typ, BinaryPrefix, typ, dir, found)
}

// CheckPermissions applies perms to a plugin before it runs: the plugins
// directory, the binary, every symbolic link's target and every directory
// above each of them (see [Perms]). It returns an *UnsafeError naming each
// problem, or nil (after warnings) when perms.Insecure.
func CheckPermissions(dir Dir, bin Binary, perms Perms) error {
	return perms.check("plugin "+bin.Type, dir.Path, bin.Path)
}
