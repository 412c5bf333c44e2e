// Package cowmem backs wasm linear memories with snapshots: a frozen memory image that
// many instances start from and can be reset to.
//
// On Linux an image lives in a sealed-size memfd and each instance maps it MAP_PRIVATE,
// so instances share the image's pages and pay only for the pages they write; a reset
// drops the private pages with madvise(MADV_DONTNEED). Elsewhere, and when asked to,
// the portable mode copies the image into a Go slice and copies it back on reset.
package cowmem

import (
	"errors"

	"github.com/tetratelabs/wazero/experimental"
)

const pageSize = 65536

// Mode selects how memories are backed.
type Mode int

const (
	// ModeAuto uses copy-on-write mappings where the platform supports them.
	ModeAuto Mode = iota
	// ModeCopy copies the image on create and reset; portable, slower.
	ModeCopy
)

// ErrLimit reports a memory that would exceed its limit.
var ErrLimit = errors.New("wasm memory limit reached")

// Memory is one instance's linear memory. It implements experimental.LinearMemory.
type Memory interface {
	experimental.LinearMemory
	// Reset returns the memory's contents to its image (all zeros for a fresh memory).
	Reset() error
	// Bytes is the current memory; valid until the next Reallocate.
	Bytes() []byte
	// Limit is the largest size in bytes the memory may grow to.
	Limit() uint64
	// AtLimit reports whether a growth was refused because of the limit.
	AtLimit() bool
	// Attach replaces the contents of a memory that was never used with the image and
	// returns the memory's new length. It lets an instance be created before it is
	// known which snapshot it will run.
	Attach(im Image) (int, error)
	// Learn records which of the image's pages this memory has written or read so
	// far; only the first memory of an image to call it is heard. Memories attached to
	// the image later populate those pages up front, in one call each for the written
	// and the read ones, instead of taking a fault on each (and a copy-on-write fault
	// on each written one) during their first invocation; where page faults are dear
	// (virtual machines with shadow or lazily backed page tables) that is most of a
	// cold start.
	Learn()
	// Prefault reads once each image page that was mapped for reading when the memory
	// was made, so that a hypervisor that backs a guest's pages only on their first
	// access (as the test machine's does, at about 10 us a page) does it now and not
	// during the first invocation. It is for memories made before they are needed; it
	// does nothing where nothing was mapped.
	Prefault()
}

// Image is a frozen memory content that memories start from.
type Image interface {
	// Size is the image's length in bytes.
	Size() int
	// NewMemory returns a memory holding the image, growable up to limit bytes.
	NewMemory(limit uint64) (Memory, error)
	// Close releases the image; memories made from it must be freed first.
	Close() error
}

// NewImage freezes a copy of mem. Pages that are all zero are not stored.
func NewImage(mem []byte, mode Mode) (Image, error) {
	if mode == ModeAuto && cowSupported {
		return newMappedImage(mem)
	}
	return newCopyImage(mem), nil
}

// Derive tells child that its contents extend base's (a bundle snapshot over its
// image's layer): until child has learned its own hot pages, its memories populate the
// pages of base's part that the first image derived from base learned.
func Derive(child, base Image) { derive(child, base) }

// NewMemory returns an empty memory growable up to limit bytes.
func NewMemory(limit uint64, mode Mode) (Memory, error) {
	if mode == ModeAuto && cowSupported {
		return newMapped(nil, limit)
	}
	return &copyMemory{limit: limit}, nil
}

// Allocator adapts a ready memory to wazero's MemoryAllocator: the next module
// instantiated with it uses that memory.
type Allocator struct{ Mem Memory }

// Allocate implements experimental.MemoryAllocator.
func (a Allocator) Allocate(cap, max uint64) experimental.LinearMemory { return a.Mem }

type copyImage struct{ data []byte }

func newCopyImage(mem []byte) *copyImage {
	return &copyImage{data: append([]byte(nil), mem...)}
}

func (im *copyImage) Size() int    { return len(im.data) }
func (im *copyImage) Close() error { im.data = nil; return nil }

func (im *copyImage) NewMemory(limit uint64) (Memory, error) {
	m := &copyMemory{limit: limit}
	if _, err := m.Attach(im); err != nil {
		return nil, err
	}
	return m, nil
}

type copyMemory struct {
	image   []byte
	buf     []byte
	limit   uint64
	atLimit bool
}

func (m *copyMemory) Reallocate(size uint64) []byte {
	if size > m.limit {
		m.atLimit = true
		return nil
	}
	if size <= uint64(len(m.buf)) {
		return m.buf[:size]
	}
	if size <= uint64(cap(m.buf)) {
		m.buf = m.buf[:size]
		return m.buf
	}
	nb := make([]byte, size, min(max(size, uint64(cap(m.buf))*2), m.limit))
	copy(nb, m.buf)
	m.buf = nb
	return m.buf
}

func (m *copyMemory) Free()         { m.buf = nil }
func (m *copyMemory) Bytes() []byte { return m.buf }
func (m *copyMemory) Limit() uint64 { return m.limit }
func (m *copyMemory) AtLimit() bool { return m.atLimit }

func (m *copyMemory) Attach(im Image) (int, error) {
	ci, ok := im.(*copyImage)
	if !ok {
		return 0, errors.New("cowmem: image and memory modes differ")
	}
	if uint64(len(ci.data)) > m.limit {
		return 0, ErrLimit
	}
	if len(m.buf) < len(ci.data) {
		m.buf = append(m.buf, make([]byte, len(ci.data)-len(m.buf))...)
	}
	n := copy(m.buf, ci.data)
	clear(m.buf[n:])
	m.image = ci.data
	return len(m.buf), nil
}

// Learn does nothing: a copied memory takes no page faults from its image.
func (m *copyMemory) Learn()    {}
func (m *copyMemory) Prefault() {}

func (m *copyMemory) Reset() error {
	n := copy(m.buf, m.image)
	clear(m.buf[n:])
	m.atLimit = false
	return nil
}

// allZero reports whether b holds only zero bytes.
func allZero(b []byte) bool {
	for len(b) >= 8 {
		if b[0]|b[1]|b[2]|b[3]|b[4]|b[5]|b[6]|b[7] != 0 {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
