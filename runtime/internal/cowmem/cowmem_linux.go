//go:build linux

package cowmem

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

const cowSupported = true

const osPage = 4096

type mappedImage struct {
	fd   int
	size int
	// view is a read-only shared mapping of the image, the source for resets.
	view []byte
	// pagemap is /proc/self/pagemap, which tells which pages of a memory were copied
	// on write; -1 when unavailable (resets then drop pages instead).
	pagemap int
	// refs counts the owner (until Close) and every memory attached to the image; the
	// last one releases the file, the view and pagemap.
	refs   atomic.Int32
	closed atomic.Bool
	// hot is what a first invocation touched, learned from the first memory that
	// calls Learn; memories attached later populate it.
	hot     atomic.Pointer[touched]
	learner atomic.Pointer[mapped] // the one memory whose Learn calls count
	// family, shared by a base image and the images derived from it, holds the pages
	// of the base's part that the first derived image to learn wrote: runtime and
	// allocator pages every derived image writes alike. A derived image populates them
	// until it has learned its own.
	family     *atomic.Pointer[touched]
	familyOnce sync.Once
	baseSize   int
}

// pageRange is a run of OS pages, in bytes from the start of the memory.
type pageRange struct{ start, end int }

// touched are the image pages a memory wrote (copied on write) and those it only read
// (mapped from the image), in byte ranges of the memory.
type touched struct{ written, read []pageRange }

// within is t cut to the first size bytes.
func (t *touched) within(size int) *touched {
	cut := func(rs []pageRange) []pageRange {
		var out []pageRange
		for _, r := range rs {
			if r.start < size {
				out = append(out, pageRange{r.start, min(r.end, size)})
			}
		}
		return out
	}
	return &touched{written: cut(t.written), read: cut(t.read)}
}

func (im *mappedImage) retain() { im.refs.Add(1) }

func (im *mappedImage) release() {
	if im.refs.Add(-1) != 0 {
		return
	}
	if im.view != nil {
		unix.Munmap(im.view)
		im.view = nil
	}
	if im.pagemap >= 0 {
		unix.Close(im.pagemap)
		im.pagemap = -1
	}
	if im.fd >= 0 {
		unix.Close(im.fd)
		im.fd = -1
	}
}

func newMappedImage(mem []byte) (*mappedImage, error) {
	fd, err := unix.MemfdCreate("reactord-snapshot", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, fmt.Errorf("memfd_create: %w", err)
	}
	im := &mappedImage{fd: fd, size: len(mem), pagemap: -1}
	im.refs.Store(1)
	if err := unix.Ftruncate(fd, int64(len(mem))); err != nil {
		im.Close()
		return nil, fmt.Errorf("ftruncate snapshot: %w", err)
	}
	// Write only pages that hold data: the rest of the file reads as zeros and
	// takes no memory.
	for off := 0; off < len(mem); off += osPage {
		end := min(off+osPage, len(mem))
		if allZero(mem[off:end]) {
			continue
		}
		run := end
		for run < len(mem) {
			next := min(run+osPage, len(mem))
			if allZero(mem[run:next]) {
				break
			}
			run = next
		}
		if _, err := unix.Pwrite(fd, mem[off:run], int64(off)); err != nil {
			im.Close()
			return nil, fmt.Errorf("write snapshot: %w", err)
		}
		off = run - osPage
	}
	// The image never changes again; sealing makes that a kernel guarantee.
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, unix.F_SEAL_SHRINK|unix.F_SEAL_GROW|unix.F_SEAL_WRITE|unix.F_SEAL_SEAL); err != nil {
		im.Close()
		return nil, fmt.Errorf("seal snapshot: %w", err)
	}
	if len(mem) > 0 {
		view, err := unix.Mmap(fd, 0, len(mem), unix.PROT_READ, unix.MAP_SHARED)
		if err != nil {
			im.Close()
			return nil, fmt.Errorf("map snapshot view: %w", err)
		}
		im.view = view
	}
	if pm, err := unix.Open("/proc/self/pagemap", unix.O_RDONLY|unix.O_CLOEXEC, 0); err == nil {
		im.pagemap = pm
	}
	return im, nil
}

func (im *mappedImage) Size() int { return im.size }

// Close gives up the owner's reference; memories still attached keep the image.
func (im *mappedImage) Close() error {
	if im.closed.Swap(true) {
		return nil
	}
	im.release()
	return nil
}

func (im *mappedImage) NewMemory(limit uint64) (Memory, error) {
	if uint64(im.size) > limit {
		return nil, ErrLimit
	}
	if im.closed.Load() {
		return nil, errors.New("cowmem: image is closed")
	}
	return newMapped(im, limit)
}

// mapped is a memory in a reserved address range of its limit's size: the image is
// mapped private over its start, the rest is anonymous and made accessible as the
// memory grows.
type mapped struct {
	image      *mappedImage
	base       unsafe.Pointer
	reserved   int
	committed  int // bytes accessible from base
	size       int // wasm memory length
	dirtyTop   int // highest size since the last reset
	limit      uint64
	atLimit    bool
	scratch    []byte      // pagemap entries
	mappedRead []pageRange // image pages populated for reading, for Prefault
}

func newMapped(im *mappedImage, limit uint64) (*mapped, error) {
	reserved := int(limit)
	if reserved%osPage != 0 {
		reserved += osPage - reserved%osPage
	}
	region, err := unix.Mmap(-1, 0, reserved, unix.PROT_NONE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_NORESERVE)
	if err != nil {
		return nil, fmt.Errorf("reserve %d bytes: %w", reserved, err)
	}
	m := &mapped{image: im, base: unsafe.Pointer(&region[0]), reserved: reserved, limit: limit}
	if im != nil {
		im.retain()
	}
	if im != nil && im.size > 0 {
		if err := m.mapImage(); err != nil {
			m.Free()
			return nil, err
		}
		m.committed = im.size
		m.populateHot()
	}
	runtime.SetFinalizer(m, (*mapped).Free)
	return m, nil
}

func (m *mapped) mapImage() error {
	_, _, errno := unix.Syscall6(unix.SYS_MMAP, uintptr(m.base), uintptr(m.image.size),
		unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_FIXED, uintptr(m.image.fd), 0)
	if errno != 0 {
		return fmt.Errorf("map snapshot: %w", errno)
	}
	return nil
}

// Attach maps the image over the start of the reserved range, replacing whatever was
// there (the memory must be unused: its contents are discarded).
func (m *mapped) Attach(im Image) (int, error) {
	mi, ok := im.(*mappedImage)
	if !ok {
		return 0, errors.New("cowmem: image and memory modes differ")
	}
	if uint64(mi.size) > m.limit {
		return 0, ErrLimit
	}
	if mi.closed.Load() {
		return 0, errors.New("cowmem: image is closed")
	}
	mi.retain()
	if m.image != nil {
		m.image.release()
	}
	m.image = mi
	if err := m.mapImage(); err != nil {
		return 0, err
	}
	m.committed = max(m.committed, mi.size)
	m.populateHot()
	if m.dirtyTop > mi.size {
		// Pages past the image held nothing yet; clear any the allocator touched.
		if err := unix.Madvise(m.region()[mi.size:roundUp(m.dirtyTop)], unix.MADV_DONTNEED); err != nil {
			return 0, err
		}
	}
	m.size = max(m.size, mi.size)
	m.dirtyTop = m.size
	return m.size, nil
}

func roundUp(n int) int {
	if n%osPage != 0 {
		n += osPage - n%osPage
	}
	return n
}

func (m *mapped) Reallocate(size uint64) []byte {
	if size > m.limit {
		m.atLimit = true
		return nil
	}
	n := int(size)
	if n > m.committed {
		top := n
		if top%osPage != 0 {
			top += osPage - top%osPage
		}
		if err := unix.Mprotect(m.region()[m.committed:top], unix.PROT_READ|unix.PROT_WRITE); err != nil {
			return nil
		}
		m.committed = top
	}
	m.size = n
	m.dirtyTop = max(m.dirtyTop, n)
	return unsafe.Slice((*byte)(m.base), n)
}

func (m *mapped) region() []byte { return unsafe.Slice((*byte)(m.base), m.reserved) }

func (m *mapped) Bytes() []byte { return unsafe.Slice((*byte)(m.base), m.size) }
func (m *mapped) Limit() uint64 { return m.limit }
func (m *mapped) AtLimit() bool { return m.atLimit }

// Reset returns the memory to its image. Pages the instance wrote (copied on write)
// are found in /proc/self/pagemap and copied back from the image, so every page stays
// mapped and the next invocation takes no page faults for them; the range past the
// image is dropped (it reads zeros again). The wasm memory keeps its length. Without
// pagemap, every private page is dropped instead.
func (m *mapped) Reset() error {
	m.atLimit = false
	top := roundUp(m.dirtyTop)
	start := 0
	if im := m.image; im != nil && im.pagemap >= 0 && im.view != nil {
		if err := m.copyBackDirty(); err == nil {
			start = im.size
		}
	}
	if top > start {
		if err := unix.Madvise(m.region()[start:top], unix.MADV_DONTNEED); err != nil {
			return fmt.Errorf("reset memory: %w", err)
		}
	}
	return nil
}

// MADV_POPULATE_READ and MADV_POPULATE_WRITE (Linux 5.14): fault pages in as a read or
// a write would, in one call, without touching them.
const (
	madvPopulateRead  = 22
	madvPopulateWrite = 23
)

// populateHot populates the image pages earlier memories touched on their first
// invocations: the pages they wrote get their private copies, read once each, and the
// pages they only read are mapped (and read by Prefault, when the memory is made
// ahead of use: reading them costs more than their first invocation saves when it
// follows at once). Kernels without MADV_POPULATE_* refuse it; the pages then fault in
// as they are used, as they always did.
func (m *mapped) populateHot() {
	m.mappedRead = nil
	im := m.image
	hot := im.hot.Load()
	if hot == nil && im.family != nil {
		hot = im.family.Load()
	}
	if hot == nil {
		return
	}
	mem := m.region()
	for _, r := range hot.written {
		if err := unix.Madvise(mem[r.start:r.end], madvPopulateWrite); err != nil {
			return
		}
	}
	readEachPage(mem, hot.written)
	for _, r := range hot.read {
		if err := unix.Madvise(mem[r.start:r.end], madvPopulateRead); err != nil {
			return
		}
		m.mappedRead = append(m.mappedRead, r)
	}
}

func (m *mapped) Prefault() { readEachPage(m.region(), m.mappedRead) }

// readEachPage reads one byte of each page in ranges. That costs nothing on bare metal,
// but where the hypervisor maps a page only on its first access (as the test machine's
// does, at about 10 us a page) it moves that cost here, before the instance runs.
func readEachPage(mem []byte, ranges []pageRange) {
	var sum byte
	for _, r := range ranges {
		for off := r.start; off < r.end; off += osPage {
			sum += mem[off]
		}
	}
	runtime.KeepAlive(sum) // the reads are the point: keep them
}

// Learn records the image pages this memory wrote and those it read. Only the first
// memory of the image to call it is heard, as often as it calls (its pages touched so
// far).
func (m *mapped) Learn() {
	im := m.image
	if im == nil || im.pagemap < 0 || im.size == 0 {
		return
	}
	if !im.learner.CompareAndSwap(nil, m) && im.learner.Load() != m {
		return
	}
	entries, err := m.readPagemap()
	if err != nil {
		return
	}
	hot := new(touched)
	for _, r := range runs(entries) {
		switch r.state {
		case pageDirty:
			hot.written = append(hot.written, r.pageRange)
		case pageMapped:
			hot.read = append(hot.read, r.pageRange)
		}
	}
	im.hot.Store(hot)
	if im.family != nil && im.family.Load() == nil {
		im.family.CompareAndSwap(nil, hot.within(im.baseSize))
	}
}

func derive(child, base Image) {
	c, ok1 := child.(*mappedImage)
	b, ok2 := base.(*mappedImage)
	if !ok1 || !ok2 || c.size < b.size {
		return
	}
	b.familyOnce.Do(func() { b.family = new(atomic.Pointer[touched]) })
	c.family, c.baseSize = b.family, b.size
}

// readPagemap returns the pagemap entries of the image part of the memory, 8 bytes a
// page, in m.scratch.
func (m *mapped) readPagemap() ([]byte, error) {
	im := m.image
	pages := im.size / osPage
	if cap(m.scratch) < pages*8 {
		m.scratch = make([]byte, pages*8)
	}
	buf := m.scratch[:pages*8]
	off := int64(uintptr(m.base)/osPage) * 8
	if n, err := unix.Pread(im.pagemap, buf, off); err != nil || n != len(buf) {
		return nil, fmt.Errorf("read pagemap: %v", err)
	}
	return buf, nil
}

// Bits of a /proc/self/pagemap entry (Documentation/admin-guide/mm/pagemap.rst).
const (
	pagePresent   = 1 << 63
	pageSwapEntry = 1 << 62 // a swap entry: the page's contents are in swap (or migrating)
	pageFileOrSh  = 1 << 61 // file page or shared anonymous: not copied on write
)

// pageState is what a pagemap entry says about one page of a memory's private mapping
// of its image.
type pageState uint8

const (
	// pageClean is a page never touched: nothing to undo.
	pageClean pageState = iota
	// pageMapped is the image's own page, mapped by a read: nothing to undo.
	pageMapped
	// pageDirty was copied on write and is resident: copy the image back over it.
	pageDirty
	// pageSwapped was copied on write and then swapped out; its private copy would
	// come back on the next access, so it is dropped.
	pageSwapped
)

func classify(entry uint64) pageState {
	switch {
	case entry&pagePresent != 0:
		if entry&pageFileOrSh != 0 {
			return pageMapped
		}
		return pageDirty
	case entry&pageSwapEntry != 0:
		// Private pages of this mapping are the only ones with a swap entry here;
		// dropping a page that turned out to be the image's is harmless.
		return pageSwapped
	}
	return pageClean
}

// copyBackDirty undoes the writes to the image part of the memory: pages copied on
// write get the image's contents again, and pages swapped out since are dropped so
// they read the image again (copying over them would first read them back in).
func (m *mapped) copyBackDirty() error {
	im := m.image
	entries, err := m.readPagemap()
	if err != nil {
		return err
	}
	mem := m.region()
	for _, r := range runs(entries) {
		switch r.state {
		case pageDirty:
			copy(mem[r.start:r.end], im.view[r.start:r.end])
		case pageSwapped:
			if err := unix.Madvise(mem[r.start:r.end], unix.MADV_DONTNEED); err != nil {
				return fmt.Errorf("drop swapped pages: %w", err)
			}
		}
	}
	return nil
}

// pageRun is a run of pages in the same state, in bytes from the start of the memory.
type pageRun struct {
	pageRange
	state pageState
}

// runs groups pagemap entries (8 bytes a page) into runs of pages in the same state.
func runs(entries []byte) []pageRun {
	var out []pageRun
	for i := 0; i < len(entries)/8; i++ {
		st := classify(binary.LittleEndian.Uint64(entries[i*8:]))
		if n := len(out); n > 0 && out[n-1].state == st {
			out[n-1].end += osPage
			continue
		}
		out = append(out, pageRun{pageRange{i * osPage, (i + 1) * osPage}, st})
	}
	return out
}

func (m *mapped) Free() {
	if m.base == nil {
		return
	}
	if err := unix.Munmap(m.region()); err != nil {
		fmt.Fprintln(os.Stderr, "cowmem: munmap:", err)
	}
	if m.image != nil {
		m.image.release()
		m.image = nil
	}
	m.base = nil
	runtime.SetFinalizer(m, nil)
}
