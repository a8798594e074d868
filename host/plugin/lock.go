package plugin

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// LockFileName is the name of the lock file inside a plugins directory.
const LockFileName = "plugins.lock"

// Lock maps a plugin binary's file name to its pinned SHA-256.
type Lock map[string][]byte

// Hash returns the SHA-256 of the file at path.
func Hash(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}

// WriteLock pins the SHA-256 of every plugin in dir into dir/plugins.lock,
// in sha256sum's format ("<hex>  <file name>"), and returns the lock. The
// file is written atomically. A directory other users could write to (or
// one above it) is refused as perms says: a lock there would be worthless.
func WriteLock(dir Dir, perms Perms) (Lock, error) {
	bins, err := List(dir)
	if err != nil {
		return nil, err
	}
	if err := perms.check("to write "+filepath.Join(dir.Path, LockFileName), dir.Path); err != nil {
		return nil, err
	}
	lock := Lock{}
	var buf bytes.Buffer
	buf.WriteString("# sqlflow-host plugins.lock: SHA-256 of each plugin binary; regenerate with `sqlflow-host plugins lock`\n")
	for _, b := range bins {
		sum, err := Hash(b.Path)
		if err != nil {
			return nil, fmt.Errorf("hash plugin %s: %w", b.Path, err)
		}
		name := filepath.Base(b.Path)
		lock[name] = sum
		fmt.Fprintf(&buf, "%s  %s\n", hex.EncodeToString(sum), name)
	}
	path := filepath.Join(dir.Path, LockFileName)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err != nil {
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	return lock, nil
}

// ReadLock reads dir/plugins.lock. A missing file gives a nil Lock and no
// error (no pinning). A lock file that other users could change (it, its
// link targets or a directory above them) is refused as perms says.
func ReadLock(dir Dir, perms Perms) (Lock, error) {
	path := filepath.Join(dir.Path, LockFileName)
	if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err := perms.check(path, path); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	lock := Lock{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 2 {
			return nil, fmt.Errorf("%s:%d: want \"<sha256 hex>  <file name>\", got %q", path, n, line)
		}
		sum, err := hex.DecodeString(f[0])
		if err != nil || len(sum) != sha256.Size {
			return nil, fmt.Errorf("%s:%d: %q is not a SHA-256 in hex", path, n, f[0])
		}
		lock[f[1]] = sum
	}
	return lock, nil
}

// Verify checks bin against the lock. With no lock every binary passes. A
// binary missing from the lock, or whose hash differs, is refused with an
// error that names it, both hashes and what to do.
func (l Lock) Verify(dir Dir, bin Binary) ([]byte, error) {
	if l == nil {
		return nil, nil
	}
	name := filepath.Base(bin.Path)
	want, ok := l[name]
	if !ok {
		return nil, fmt.Errorf("refusing plugin %s: %s is not pinned in %s; run `sqlflow-host plugins lock` if you trust it",
			bin.Type, name, filepath.Join(dir.Path, LockFileName))
	}
	got, err := Hash(bin.Path)
	if err != nil {
		return nil, fmt.Errorf("hash plugin %s: %w", bin.Path, err)
	}
	if !bytes.Equal(got, want) {
		return nil, fmt.Errorf("refusing plugin %s: %s changed since it was locked (sha256 %s, %s pins %s); "+
			"if the change is yours, run `sqlflow-host plugins lock` again",
			bin.Type, bin.Path, hex.EncodeToString(got), LockFileName, hex.EncodeToString(want))
	}
	return want, nil
}
