// Package pageloop catches a paged read that would never end because the
// server keeps sending it back to pages it has read: a next-page link, a
// cursor or a token it gave before (two links pointing at each other, an
// endCursor repeated forever). A connector that follows server-given
// positions keeps a [Guard] in its checkpoint and asks it, before following
// a position, whether the read has been there.
//
// # Why in the checkpoint
//
// The host drives a read one page at a time through opaque checkpoints,
// and a page may be read by a new plugin process (after a crash, a
// restart, a hung call). A guard kept in the plugin's memory would be
// reset by every restart, and a cycle spanning a restart would run
// forever. So the guard is a small value, encoded in JSON, that travels in
// the checkpoint.
//
// # What it remembers, and its bound
//
// The guard holds 64-bit hashes (FNV-1a) of the positions of the last
// [Window] pages, a count of the pages, and one anchor: the hash of the
// position of the last page whose number is a power of two (Brent's cycle
// detection). A cycle of up to Window pages is caught at its first repeat.
// A longer one is caught by the anchor: once the anchor is inside the
// cycle and the distance to the next power of two exceeds the cycle's
// length, the anchor's position comes round again. A cycle of length L
// entered at page M is caught by page 2·max(M, L) + L at the latest, and
// the checkpoint grows by at most about 400 bytes, however long the read.
//
// The hashes are not secret-bearing: a position (which may hold a token)
// is never stored, only its hash. Two different positions sharing a hash
// would be taken for a repeat; with 64-bit hashes and at most Window+1 of
// them compared at a time, that is a chance of about 2⁻⁵⁸ a page.
package pageloop

import (
	"encoding/base64"
	"encoding/binary"
	"hash/fnv"
	"strconv"
)

// Window is how many recent pages' positions a Guard compares exactly.
const Window = 32

// Guard is the loop guard of one paged read. Its zero value is a guard
// that has seen nothing. It is meant to be stored in a checkpoint as JSON
// (its fields are exported for encoding/json and are not to be set by
// hand); it is a value, so copying a checkpoint copies it.
type Guard struct {
	// Pages counts the positions visited: the pages of the read so far
	// whose positions were given to Visit.
	Pages int64 `json:"n"`
	// Recent holds the hashes of the last positions (at most Window),
	// oldest first, as base64 of 8-byte big-endian values; the last is
	// the position of page Pages.
	Recent string `json:"h,omitempty"`
	// Anchor is the hash, in hex, of the position of page AnchorPage, the
	// last page whose number is a power of two.
	Anchor     string `json:"a,omitempty"`
	AnchorPage int64  `json:"ap,omitempty"`
}

// Start makes g a guard that has seen pages before page first+1 without
// knowing their positions: the next Visit is page first+1. A connector
// calls it when it resumes from a checkpoint without a guard (written by
// an earlier version), or one whose count disagrees with its own.
func (g *Guard) Start(first int64) {
	*g = Guard{Pages: first}
}

// Visit records that the next page of the read (number Pages+1) is read at
// position pos (a URL, a cursor, a token: whatever names the request; a
// connector prefixes the kind when it has several). If the read has been
// at pos before, within what the guard remembers, Visit records nothing
// and returns the number of that earlier page and true: following pos
// would loop.
func (g *Guard) Visit(pos string) (earlier int64, loops bool) {
	h := fnv.New64a()
	h.Write([]byte(pos))
	sum := h.Sum64()
	recent := g.recent()
	for i, r := range recent {
		if r == sum {
			return g.Pages - int64(len(recent)) + 1 + int64(i), true
		}
	}
	if a, err := strconv.ParseUint(g.Anchor, 16, 64); err == nil && g.Anchor != "" && a == sum {
		return g.AnchorPage, true
	}
	g.Pages++
	recent = append(recent, sum)
	if len(recent) > Window {
		recent = recent[len(recent)-Window:]
	}
	b := make([]byte, 8*len(recent))
	for i, r := range recent {
		binary.BigEndian.PutUint64(b[8*i:], r)
	}
	g.Recent = base64.RawStdEncoding.EncodeToString(b)
	if g.Pages&(g.Pages-1) == 0 {
		g.Anchor, g.AnchorPage = strconv.FormatUint(sum, 16), g.Pages
	}
	return 0, false
}

// recent decodes Recent; a value that does not decode (a damaged
// checkpoint) counts as nothing remembered.
func (g *Guard) recent() []uint64 {
	b, err := base64.RawStdEncoding.DecodeString(g.Recent)
	if err != nil || len(b)%8 != 0 {
		return nil
	}
	out := make([]uint64, len(b)/8)
	for i := range out {
		out[i] = binary.BigEndian.Uint64(b[8*i:])
	}
	return out
}
