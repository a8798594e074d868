package filestage

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

// WriteTarget is the file a destination's write goes to, as [CheckTarget]
// resolved it.
type WriteTarget struct {
	// Dir is the directory the file is written in, as configured (a
	// relative path stays relative); the write's staging area lives there.
	Dir string
	// File is the file's base name inside Dir.
	File string
	// Resolved names the file for sdk.WriteChecker: "file:" and its
	// absolute, clean path, with the symbolic links of its existing
	// directories evaluated, so that every spelling of one file (a relative
	// and an absolute path, targets "x" and "x.csv", a directory reached
	// through a link) gives the same string.
	Resolved string
}

// CheckTarget resolves a write's target file as [ResolveTarget] does and
// checks, reading file metadata only (nothing is created, opened or
// written), that a write could go there:
//
//   - path and target hold no NUL byte;
//   - the directory is one, or can be created: no existing part of it is a
//     file (the error is the one the write's Begin would give);
//   - the target file, when it exists, is a regular file. A symbolic link
//     is refused: an append would copy the file it points to, possibly
//     outside the destination's directory, and the commit would replace
//     the link with a file. So are a directory and other special files.
//
// Every refusal is PERMANENT and names the path as [Show] gives it. The
// caller checks the write's mode.
func CheckTarget(path, target string, isDefault bool, ext string) (WriteTarget, error) {
	if strings.IndexByte(path, 0) >= 0 {
		return WriteTarget{}, errclass.Permanentf("destination path %q holds a NUL byte, which no file name may hold", path)
	}
	if strings.IndexByte(target, 0) >= 0 {
		return WriteTarget{}, errclass.Permanentf("target %q holds a NUL byte, which no file name may hold", target)
	}
	dir, file, err := ResolveTarget(path, target, isDefault, ext)
	if err != nil {
		return WriteTarget{}, err
	}
	real, err := realDir(dir)
	if err != nil {
		return WriteTarget{}, err
	}
	p := filepath.Join(dir, file)
	st, err := os.Lstat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return WriteTarget{}, FileError(err, "stat", p)
	case st.Mode()&fs.ModeSymlink != 0:
		return WriteTarget{}, errclass.Permanentf("target file %s is a symbolic link; the destination writes only regular files in its directory "+
			"(an append would copy the file the link points to); remove the link or write another target", Show(p))
	case st.IsDir():
		return WriteTarget{}, errclass.Permanentf("target file %s is a directory; remove it or write another target", Show(p))
	case !st.Mode().IsRegular():
		return WriteTarget{}, errclass.Permanentf("target file %s is not a regular file; remove it or write another target", Show(p))
	}
	return WriteTarget{Dir: dir, File: file, Resolved: "file:" + filepath.Join(real, file)}, nil
}

// RealPath returns the file path as an absolute, clean path with the
// symbolic links of its existing directories evaluated (the file itself,
// a link or not, is not followed): two spellings of one file give the
// same string. It reads file metadata only. A part of the directory that
// exists and is not a directory is the PERMANENT error creating the
// directory would give.
func RealPath(path string) (string, error) {
	dir, err := realDir(filepath.Dir(path))
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, filepath.Base(path)), nil
}

// realDir returns dir as an absolute path whose existing part has its
// symbolic links evaluated (the part still to be created is appended as
// written). A part of dir that exists and is not a directory is the
// PERMANENT error creating dir would give.
func realDir(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", FileError(err, "resolve", dir)
	}
	existing, rest := abs, ""
	for {
		st, err := os.Stat(existing)
		if err == nil {
			if !st.IsDir() {
				return "", FileError(syscall.ENOTDIR, "create directory", dir)
			}
			break
		}
		if errors.Is(err, syscall.ENOTDIR) {
			return "", FileError(syscall.ENOTDIR, "create directory", dir)
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", FileError(err, "stat", existing)
		}
		parent := filepath.Dir(existing)
		if parent == existing {
			break
		}
		rest = filepath.Join(filepath.Base(existing), rest)
		existing = parent
	}
	real, err := filepath.EvalSymlinks(existing)
	if err != nil {
		return "", FileError(err, "resolve", existing)
	}
	return filepath.Join(real, rest), nil
}

// CheckFileWrite is the check a single-file destination (one file per
// target, modes replace and append) makes before a write: the mode, then
// [CheckTarget] of the target under path with extension ext. kind names
// the destination in messages ("csv"). Refusals are PERMANENT.
func CheckFileWrite(kind, path, ext string, req sdk.WriteRequest) (WriteTarget, error) {
	switch req.Mode {
	case sdk.ModeReplace, sdk.ModeAppend:
	case sdk.ModeUpsert:
		return WriteTarget{}, errclass.Permanentf("the %s destination does not support mode upsert (flow %q); use replace or append", kind, req.Flow)
	default:
		return WriteTarget{}, errclass.Permanentf("unknown write mode %q (flow %q); the %s destination supports replace and append", req.Mode, req.Flow, kind)
	}
	return CheckTarget(path, req.Target, req.DefaultTarget, ext)
}
