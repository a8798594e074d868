package filestage

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

// Show names a local path in an error message: the path as written,
// quoted, and, when it is relative, the absolute path it resolves to
// against the working directory:
//
//	"data/orders.csv" (resolved to /home/u/proj/data/orders.csv)
//
// The host starts each plugin in the directory of the pipeline file, so the
// resolved form tells a user which file a relative path in the file named.
// An absolute path is shown once, as written ("/srv/orders.csv"); so is a
// relative one when the working directory cannot be read.
func Show(path string) string {
	if filepath.IsAbs(path) {
		return strconv.Quote(path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return strconv.Quote(path)
	}
	return fmt.Sprintf("%q (resolved to %s)", path, abs)
}

// FileError classifies err, the failure of op (a verb such as "open",
// "read" or "create directory") on the local file or directory path, as
// [IOError] does, and words it with the path as [Show] gives it:
//
//	open "data/orders.csv" (resolved to /home/u/proj/data/orders.csv): permission denied
//
// The operation and path that an *fs.PathError or *os.LinkError repeats
// are left out of the message; the cause stays wrapped, so errors.Is
// (fs.ErrNotExist, fs.ErrPermission …) still answers.
func FileError(err error, op, path string) error {
	return ioErr(cause(err), "%s %s", op, Show(path))
}

// cause returns the error an *fs.PathError or *os.LinkError carries, or
// err itself.
func cause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}

// IsGlob reports whether path holds a glob metacharacter (*, ? or [).
func IsGlob(path string) bool { return strings.ContainsAny(path, "*?[") }

// Expand turns a source path into the sorted list of files it names:
//
//   - a glob (see [filepath.Match]) gives the regular files it matches,
//     sorted by path; names starting with a dot (staging) are skipped;
//   - a directory gives its regular files whose names end in ext
//     (case-insensitive), sorted, not recursing;
//   - any other path gives itself.
//
// A path that does not exist, a malformed glob and a glob or directory
// matching no file are PERMANENT errors naming the path.
func Expand(path, ext string) ([]string, error) {
	return expand(path, ext, false)
}

// ExpandSource is [Expand] for a source, where a path naming no file yet is
// an empty stream rather than a failure: a glob matching no file and a
// directory holding no file ending in ext give an empty list and no error.
// A path that does not exist (a named file, a directory), a glob whose
// fixed leading directory (its elements before the first one with a
// metacharacter) does not exist, and a malformed glob are still PERMANENT
// errors naming the path.
func ExpandSource(path, ext string) ([]string, error) {
	return expand(path, ext, true)
}

func expand(path, ext string, allowEmpty bool) ([]string, error) {
	if IsGlob(path) {
		matches, err := filepath.Glob(path)
		if err != nil {
			return nil, errclass.Permanentf("path %q is not a valid glob: %w", path, err)
		}
		files := matches[:0]
		for _, m := range matches {
			if strings.HasPrefix(filepath.Base(m), ".") {
				continue
			}
			if st, err := os.Stat(m); err == nil && st.Mode().IsRegular() {
				files = append(files, m)
			}
		}
		if len(files) == 0 {
			if !allowEmpty {
				return nil, errclass.Permanentf("path %s matches no file", Show(path))
			}
			base := globBase(path)
			st, err := os.Stat(base)
			switch {
			case errors.Is(err, fs.ErrNotExist):
				return nil, errclass.Permanentf("path %s matches no file: directory %s does not exist", Show(path), Show(base))
			case err != nil:
				return nil, IOError(err, "stat "+base)
			case !st.IsDir():
				return nil, errclass.Permanentf("path %s matches no file: %s is not a directory", Show(path), Show(base))
			}
			return nil, nil
		}
		sort.Strings(files)
		return files, nil
	}
	st, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, errclass.Permanentf("file %s does not exist", Show(path))
		}
		return nil, FileError(err, "stat", path)
	}
	if !st.IsDir() {
		return []string{path}, nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, FileError(err, "list directory", path)
	}
	var files []string
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") || !strings.HasSuffix(strings.ToLower(name), strings.ToLower(ext)) {
			continue
		}
		if e.Type().IsRegular() {
			files = append(files, filepath.Join(path, name))
		}
	}
	if len(files) == 0 && !allowEmpty {
		return nil, errclass.Permanentf("directory %s holds no %s file", Show(path), ext)
	}
	sort.Strings(files)
	return files, nil
}

// globBase is the fixed leading directory of a glob: its elements before
// the first one holding a metacharacter ("." when that is the first).
func globBase(path string) string {
	dir := filepath.Dir(path)
	for IsGlob(dir) {
		dir = filepath.Dir(dir)
	}
	return dir
}

// StreamName names the one stream a source path offers:
//
//   - a file: its stem ("data/orders.csv" → "orders");
//   - a glob: the stem of its last element cut at the first metacharacter,
//     with trailing '-', '_' and '.' trimmed ("data/orders-*.csv" →
//     "orders"); when that leaves nothing ("data/*.csv"), the name of the
//     directory holding the glob ("data");
//   - a directory: its own name.
func StreamName(path string) string {
	clean := filepath.Clean(path)
	base := filepath.Base(clean)
	if IsGlob(base) {
		stem := base[:strings.IndexAny(base, "*?[")]
		if i := strings.Index(stem, "."); i >= 0 {
			stem = stem[:i]
		}
		stem = strings.TrimRight(stem, "-_.")
		if stem != "" {
			return stem
		}
		dir := filepath.Dir(clean)
		if IsGlob(dir) {
			return StreamName(dir)
		}
		if d := filepath.Base(dir); d != "." && d != string(filepath.Separator) {
			return d
		}
		return "files"
	}
	if st, err := os.Stat(clean); err == nil && st.IsDir() {
		return base
	}
	return strings.TrimSuffix(base, filepath.Ext(base))
}

// singleFile reports whether a destination path names one file (it ends
// in ext and is not an existing directory) rather than a directory.
func singleFile(path, ext string) bool {
	if !strings.HasSuffix(strings.ToLower(path), strings.ToLower(ext)) {
		return false
	}
	st, err := os.Stat(path)
	return err != nil || !st.IsDir()
}

// BaseDir returns the directory a destination path writes into: the path
// itself, or its parent when the path names a single file (see
// [ResolveTarget]). Staging areas live there.
func BaseDir(path, ext string) string {
	if singleFile(path, ext) {
		return filepath.Dir(path)
	}
	return path
}

// ResolveTarget returns the directory and the file name a write goes to.
// isDefault is sdk.WriteRequest.DefaultTarget: the flow names no target,
// and target is the stream's name.
//
// When path is a directory (any path not ending in ext, or an existing
// directory), target names the file in it: target "out" and "out"+ext both
// give "out"+ext; a target that already ends in ext is kept as is. An
// empty target, an absolute one, or one with a path separator or ".." is a
// PERMANENT error.
//
// When path names a single file (it ends in ext), the write goes to that
// file: a default target (the stream's name) is ignored, and an explicit
// target must be empty, the file's name or the file's stem; any other
// target is a PERMANENT error.
func ResolveTarget(path, target string, isDefault bool, ext string) (dir, file string, err error) {
	if singleFile(path, ext) {
		base := filepath.Base(path)
		if !isDefault && target != "" && target != base && target+ext != base {
			return "", "", errclass.Permanentf("destination path %q names a single file, but the flow's target is %q; "+
				"set path to a directory to write several targets, or make the target %q", path, target, base)
		}
		return filepath.Dir(path), base, nil
	}
	if target == "" {
		return "", "", errclass.Permanentf("destination path %q is a directory and the flow has no target; set the flow's target to a file name such as \"orders%s\"", path, ext)
	}
	if filepath.IsAbs(target) || strings.ContainsAny(target, `/\`) || target == "." || target == ".." || strings.HasPrefix(target, ".") {
		if isDefault {
			return "", "", errclass.Permanentf("the flow names no target, and the stream's name %q is not a plain file name to write inside %q "+
				"(no directories, not starting with a dot); set the flow's target to a file name such as \"orders%s\"", target, path, ext)
		}
		return "", "", errclass.Permanentf("target %q must be a plain file name inside %q (no directories, not starting with a dot)", target, path)
	}
	if !strings.HasSuffix(strings.ToLower(target), strings.ToLower(ext)) {
		target += ext
	}
	return path, target, nil
}
