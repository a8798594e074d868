package filestage

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

// CheckPath checks a connector's path without knowing whether it serves a
// source or a destination, so it accepts a path usable as either: a glob
// must match at least one file; an existing file must be readable; an
// existing directory must hold files ending in ext or be writable; a
// missing path is accepted when a destination could create it (a file
// ending in ext whose directory exists and is writable; a directory whose
// nearest existing ancestor is writable) and is otherwise a PERMANENT
// error naming the path.
func CheckPath(path, ext string) error {
	if IsGlob(path) {
		files, err := Expand(path, ext)
		if err != nil {
			return err
		}
		return checkReadable(files[0])
	}
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		parent := filepath.Dir(path)
		if strings.HasSuffix(strings.ToLower(path), strings.ToLower(ext)) {
			// A single file: only its own directory may create it.
			if pst, perr := os.Stat(parent); perr == nil && pst.IsDir() && checkWritable(parent) == nil {
				return nil
			}
			return errclass.Permanentf("path %s does not exist", Show(path))
		}
		for {
			pst, perr := os.Stat(parent)
			if perr == nil && pst.IsDir() {
				if checkWritable(parent) == nil {
					return nil
				}
				break
			}
			if next := filepath.Dir(parent); next != parent {
				parent = next
				continue
			}
			break
		}
		return errclass.Permanentf("path %s does not exist", Show(path))
	case err != nil:
		return FileError(err, "check path", path)
	case st.IsDir():
		if _, err := Expand(path, ext); err == nil {
			return nil
		}
		return checkWritable(path)
	default:
		return checkReadable(path)
	}
}

func checkReadable(path string) error {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return errclass.Permanentf("file %s does not exist", Show(path))
		}
		return FileError(err, "open", path)
	}
	return f.Close()
}

func checkWritable(dir string) error {
	f, err := os.CreateTemp(dir, ".sqlflow-check-*")
	if err != nil {
		return ioErr(cause(err), "directory %s is not writable", Show(dir))
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}
