package plugin

import (
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/hashicorp/go-hclog"
)

// Perms is the host's rule for the files it runs or trusts: plugin
// binaries, plugins.lock and every directory above them. Each file and
// directory must be owned by root or by the host's effective user and must
// not be writable by group or others, as OpenSSH's StrictModes and sudo
// require; otherwise another local user could swap in code that runs with
// the host's privileges. Symbolic links are followed hop by hop, and each
// target is held to the same rule up to the root. A shared directory such
// as /tmp (mode 1777) fails it like any other world-writable directory.
//
// The zero value refuses every problem.
type Perms struct {
	// Insecure logs a warning per problem and goes on instead of refusing
	// (the host's --insecure-plugin-perms flag).
	Insecure bool
	// Logger receives those warnings; nil discards them.
	Logger hclog.Logger

	// warned, when set, remembers the problems already logged, so that a
	// launcher warns once per problem, not at every plugin start.
	warned *warnedSet
}

// warnedSet is the problems a launcher has warned about.
type warnedSet struct {
	mu   sync.Mutex
	seen map[string]bool
}

// first reports whether key is new, and remembers it.
func (w *warnedSet) first(key string) bool {
	if w == nil {
		return true
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.seen[key] {
		return false
	}
	if w.seen == nil {
		w.seen = map[string]bool{}
	}
	w.seen[key] = true
	return true
}

// Problem is one file or directory that a user other than root and the
// host's own may change.
type Problem struct {
	// Path is the file or directory, symbolic links resolved.
	Path string
	// UID is its owner; Owner the owner's user name, or the uid when it has
	// none.
	UID   uint32
	Owner string
	// Mode is its type and permission bits.
	Mode fs.FileMode
	// Reason says what is wrong, e.g. "is writable by group and others".
	Reason string
	// Fix says what to do about it.
	Fix string
}

// String gives the path, its owner and mode, what is wrong and the fix.
func (p Problem) String() string {
	return fmt.Sprintf("%s (owner %s, mode %s) %s; %s", p.Path, p.Owner, p.Mode, p.Reason, p.Fix)
}

// UnsafeError is returned when a file the host would run or trust may be
// changed by another user. Test with errors.As.
type UnsafeError struct {
	// What names what was refused, e.g. "plugin csv".
	What string
	// Problems lists every unsafe file and directory found.
	Problems []Problem
}

// Error names what was refused and lists every problem, one per line.
func (e *UnsafeError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "refusing %s: other local users could replace it:", e.What)
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	b.WriteString("\n(--insecure-plugin-perms only warns about this; use it only where every local user is trusted)")
	return b.String()
}

// maxLinkHops bounds the symbolic links followed in one path: Linux's own
// limit (ELOOP after 40).
const maxLinkHops = 40

// Inspect returns the problems of path under the rule of [Perms]: the file
// itself and every directory above it up to the root; when a component is a
// symbolic link, its target and every directory above the target, hop after
// hop. A path that does not exist, or with too many links, is an error.
func Inspect(path string) ([]Problem, error) {
	return inspect(path, map[string]bool{})
}

// inspect walks path as the kernel resolves it, one component at a time,
// judging every real (not symlink) file and directory it passes through;
// seen holds the paths already judged, so each is reported once.
func inspect(path string, seen map[string]bool) ([]Problem, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("check permissions of %s: %w", path, err)
	}
	var probs []Problem
	judgeOnce := func(p string, info fs.FileInfo, last bool) {
		if seen[p] {
			return
		}
		seen[p] = true
		if pr, bad := judge(p, info, !last); bad {
			probs = append(probs, pr)
		}
	}
	root, err := os.Lstat("/")
	if err != nil {
		return nil, fmt.Errorf("check permissions of %s: %w", path, err)
	}
	judgeOnce("/", root, abs == "/")
	resolved := "/"
	rest := components(abs)
	hops := 0
	for len(rest) > 0 {
		c := rest[0]
		rest = rest[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			resolved = filepath.Dir(resolved)
			continue
		}
		next := filepath.Join(resolved, c)
		info, err := os.Lstat(next)
		if err != nil {
			return probs, fmt.Errorf("check permissions of %s: %w", path, err)
		}
		if info.Mode()&fs.ModeSymlink != 0 {
			if hops++; hops > maxLinkHops {
				return probs, fmt.Errorf("check permissions of %s: more than %d symbolic links", path, maxLinkHops)
			}
			target, err := os.Readlink(next)
			if err != nil {
				return probs, fmt.Errorf("check permissions of %s: %w", path, err)
			}
			if filepath.IsAbs(target) {
				resolved = "/"
			}
			rest = append(components(target), rest...)
			continue
		}
		judgeOnce(next, info, len(rest) == 0)
		resolved = next
	}
	return probs, nil
}

// components splits a slash-separated path into its elements.
func components(p string) []string {
	return strings.Split(filepath.ToSlash(p), "/")
}

// judge returns the problem of one real file or directory, if any.
// ancestor marks a directory above the file trusted, for the advice given.
func judge(path string, info fs.FileInfo, ancestor bool) (Problem, bool) {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return Problem{}, false
	}
	euid := uint32(os.Geteuid())
	trusted := "root"
	if euid != 0 {
		trusted = "root or " + userName(euid)
	}
	badOwner := st.Uid != 0 && st.Uid != euid
	writers := info.Mode().Perm() & 0o022
	if !badOwner && writers == 0 {
		return Problem{}, false
	}
	p := Problem{Path: path, UID: st.Uid, Owner: userName(st.Uid), Mode: info.Mode()}
	var reasons, fixes []string
	if badOwner {
		if euid == 0 {
			reasons = append(reasons, fmt.Sprintf("is owned by %s, not root", p.Owner))
		} else {
			reasons = append(reasons, fmt.Sprintf("is owned by %s, neither root nor the host's user %s", p.Owner, userName(euid)))
		}
		fixes = append(fixes, "chown "+userName(euid)+" "+path)
	}
	if writers != 0 {
		who, bits := "group", "g-w"
		switch writers {
		case 0o002:
			who, bits = "others", "o-w"
		case 0o022:
			who, bits = "group and others", "go-w"
		}
		reasons = append(reasons, "is writable by "+who)
		fixes = append(fixes, "chmod "+bits+" "+path)
	}
	p.Reason = strings.Join(reasons, " and ")
	shared := info.IsDir() && info.Mode()&fs.ModeSticky != 0 && writers&0o002 != 0
	switch {
	case shared:
		// chmod o-w /tmp would break the system: move instead.
		p.Fix = "it is a shared directory: move the plugins to a directory that only " + trusted +
			" can write, with such parents"
	case ancestor:
		p.Fix = "run " + strings.Join(fixes, " && ") + ", or move the plugins to a directory whose parents only " +
			trusted + " can write"
	default:
		p.Fix = "run " + strings.Join(fixes, " && ")
	}
	return p, true
}

// userName returns the name of the user uid, or the uid as a number.
func userName(uid uint32) string {
	id := strconv.FormatUint(uint64(uid), 10)
	if u, err := user.LookupId(id); err == nil && u.Username != "" {
		return u.Username
	}
	return id
}

// check applies the rule to paths, trusted as what ("plugin csv"): nil when
// all are safe; with Insecure, nil after logging one warning per problem;
// else an *UnsafeError listing every problem.
func (p Perms) check(what string, paths ...string) error {
	seen := map[string]bool{}
	var probs []Problem
	for _, path := range paths {
		pr, err := inspect(path, seen)
		probs = append(probs, pr...)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	if len(probs) == 0 {
		return nil
	}
	if !p.Insecure {
		return &UnsafeError{What: what, Problems: probs}
	}
	log := p.Logger
	if log == nil {
		log = hclog.NewNullLogger()
	}
	for _, pr := range probs {
		if !p.warned.first(pr.String()) {
			continue
		}
		log.Warn("unsafe permissions, going on because of --insecure-plugin-perms", "for", what,
			"path", pr.Path, "owner", pr.Owner, "mode", pr.Mode.String(), "problem", pr.Reason, "fix", pr.Fix)
	}
	return nil
}
