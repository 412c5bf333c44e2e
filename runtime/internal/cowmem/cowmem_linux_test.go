//go:build linux

package cowmem

import (
	"bytes"
	"encoding/binary"
	"os"
	"slices"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// TestImageOutlivesClose: a closed image stays usable by the memories made from it,
// and its file and view go away with the last of them.
func TestImageOutlivesClose(t *testing.T) {
	src := bytes.Repeat([]byte{7}, 2*pageSize)
	img, err := NewImage(src, ModeAuto)
	if err != nil {
		t.Fatal(err)
	}
	im := img.(*mappedImage)
	m, err := img.NewMemory(4 * pageSize)
	if err != nil {
		t.Fatal(err)
	}
	buf := m.Reallocate(uint64(len(src)))
	img.Close()
	if _, err := img.NewMemory(4 * pageSize); err == nil {
		t.Error("a closed image made a new memory")
	}
	buf[0] = 1
	if err := m.Reset(); err != nil || m.Bytes()[0] != 7 {
		t.Fatalf("reset after the image closed: %v, byte %d", err, m.Bytes()[0])
	}
	if im.fd < 0 || im.view == nil {
		t.Fatal("image released while a memory uses it")
	}
	m.Free()
	if im.fd >= 0 || im.view != nil || im.refs.Load() != 0 {
		t.Errorf("image not released after its last memory: fd %d view %v refs %d", im.fd, im.view != nil, im.refs.Load())
	}
}

// TestClassifyPagemapEntry: which pagemap entries of an image mapping a reset must
// undo. A swapped-out private copy is not present, yet holds the instance's writes.
func TestClassifyPagemapEntry(t *testing.T) {
	tests := []struct {
		name  string
		entry uint64
		want  pageState
	}{
		{"never touched", 0, pageClean},
		{"image page, resident", pagePresent | pageFileOrSh | 1234, pageMapped},
		{"copied on write, resident", pagePresent | 1234, pageDirty},
		{"copied on write, swapped out", pageSwapEntry | 0x5678, pageSwapped},
		{"swapped, soft-dirty and exclusive bits set", pageSwapEntry | 1<<55 | 1<<56 | 42, pageSwapped},
		{"present wins over a stale swap bit", pagePresent | pageSwapEntry, pageDirty},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := classify(tc.entry); got != tc.want {
				t.Errorf("classify(%#x) = %d, want %d", tc.entry, got, tc.want)
			}
		})
	}
}

// TestResetDropsSwappedPages writes to a page of a memory, then has the memory's
// pagemap report that page as swapped out (what the kernel reports after it swaps the
// private copy out), and checks that a reset still returns the page to the image.
// The pagemap is a sparse file with the entries at the offsets the kernel's would
// have, so no swap device is needed.
func TestResetDropsSwappedPages(t *testing.T) {
	src := bytes.Repeat([]byte{7}, 4*osPage)
	img, err := NewImage(src, ModeAuto)
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	im := img.(*mappedImage)
	m, err := img.NewMemory(8 * osPage)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Free()
	buf := m.Reallocate(uint64(len(src)))
	buf[1*osPage] = 1 // resident dirty page
	buf[2*osPage] = 2 // the page the fake pagemap reports as swapped

	f, err := os.CreateTemp(t.TempDir(), "pagemap")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	entries := make([]byte, 4*8)
	binary.LittleEndian.PutUint64(entries[0:], pagePresent|pageFileOrSh)
	binary.LittleEndian.PutUint64(entries[8:], pagePresent)
	binary.LittleEndian.PutUint64(entries[16:], pageSwapEntry|99)
	binary.LittleEndian.PutUint64(entries[24:], pagePresent|pageFileOrSh)
	base := uintptr(m.(*mapped).base)
	if _, err := f.WriteAt(entries, int64(base/osPage)*8); err != nil {
		t.Skipf("cannot write a sparse pagemap stand-in at offset %d: %v", int64(base/osPage)*8, err)
	}
	real := im.pagemap
	im.pagemap = int(f.Fd())
	defer func() { im.pagemap = real }()

	if err := m.Reset(); err != nil {
		t.Fatal(err)
	}
	got := m.Bytes()
	for _, p := range []int{1, 2} {
		if got[p*osPage] != 7 {
			t.Errorf("page %d holds %d after reset, want the image's 7", p, got[p*osPage])
		}
	}
}

// TestResetAfterPageout swaps a dirty page out for real with MADV_PAGEOUT and checks
// the reset. It needs a swap device; without one the kernel keeps the page resident.
func TestResetAfterPageout(t *testing.T) {
	src := bytes.Repeat([]byte{7}, 4*osPage)
	img, err := NewImage(src, ModeAuto)
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	im := img.(*mappedImage)
	if im.pagemap < 0 {
		t.Skip("/proc/self/pagemap is not readable here")
	}
	m, err := img.NewMemory(8 * osPage)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Free()
	buf := m.Reallocate(uint64(len(src)))
	buf[2*osPage] = 2
	page := buf[2*osPage : 3*osPage]
	if err := unix.Madvise(page, unix.MADV_PAGEOUT); err != nil {
		t.Skipf("MADV_PAGEOUT refused: %v", err)
	}
	entry := make([]byte, 8)
	if _, err := unix.Pread(im.pagemap, entry, int64(uintptr(unsafe.Pointer(&page[0]))/osPage)*8); err != nil {
		t.Fatal(err)
	}
	if classify(binary.LittleEndian.Uint64(entry)) != pageSwapped {
		t.Skip("the kernel kept the page resident after MADV_PAGEOUT (no swap device): covered by TestResetDropsSwappedPages")
	}
	if err := m.Reset(); err != nil {
		t.Fatal(err)
	}
	if b := m.Bytes()[2*osPage]; b != 7 {
		t.Errorf("swapped-out page holds %d after reset, want the image's 7", b)
	}
}

// dirtyPages lists the pages of m's image part that are private copies (written).
func dirtyPages(t *testing.T, m *mapped) []int {
	t.Helper()
	return pagesIn(t, m, pageDirty)
}

// mappedPages lists the pages of m's image part mapped from the image (read).
func mappedPages(t *testing.T, m *mapped) []int {
	t.Helper()
	return pagesIn(t, m, pageMapped)
}

func pagesIn(t *testing.T, m *mapped, state pageState) []int {
	t.Helper()
	entries, err := m.readPagemap()
	if err != nil {
		t.Skipf("pagemap unreadable here: %v", err)
	}
	var out []int
	for i := 0; i < len(entries)/8; i++ {
		if classify(binary.LittleEndian.Uint64(entries[i*8:])) == state {
			out = append(out, i)
		}
	}
	return out
}

// TestLearnPopulatesHotPages: after one memory of an image learns which pages it
// wrote and read, the next memories of that image (and of images derived from it)
// start with exactly the written pages private and resident and the read ones mapped,
// and still read the image's contents.
func TestLearnPopulatesHotPages(t *testing.T) {
	probe, err := unix.Mmap(-1, 0, osPage, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		t.Fatal(err)
	}
	err = unix.Madvise(probe, madvPopulateWrite)
	unix.Munmap(probe)
	if err != nil {
		t.Skipf("this kernel has no MADV_POPULATE_WRITE (%v); memories then fault pages in as used", err)
	}
	src := make([]byte, 16*osPage)
	for i := range src {
		src[i] = byte(i / osPage)
	}
	base, err := NewImage(src, ModeAuto)
	if err != nil {
		t.Fatal(err)
	}
	defer base.Close()
	first, err := base.NewMemory(32 * osPage)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Free()
	fm := first.(*mapped)
	fm.Reallocate(uint64(len(src)))
	if d := dirtyPages(t, fm); len(d) != 0 {
		t.Fatalf("a new memory has private pages before any hot set is known: %v", d)
	}
	if r := mappedPages(t, fm); len(r) != 0 {
		t.Fatalf("a new memory has mapped pages before any hot set is known: %v", r)
	}
	// The "invocation": writes to pages 2, 3 and 9, reads page 12.
	mem := first.Bytes()
	mem[2*osPage+5], mem[3*osPage], mem[9*osPage+100] = 1, 1, 1
	if mem[12*osPage] != 12 {
		t.Fatal("page 12 does not read the image")
	}
	// The kernel maps the pages around a read fault too (fault-around), so the pages
	// the first memory has mapped are read back rather than assumed.
	wantRead := mappedPages(t, fm)
	if !slices.Contains(wantRead, 12) {
		t.Fatalf("the read page 12 is not mapped: %v", wantRead)
	}
	first.Learn()
	want := []int{2, 3, 9}

	second, err := base.NewMemory(32 * osPage)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Free()
	sm := second.(*mapped)
	if d := dirtyPages(t, sm); !equalInts(d, want) {
		t.Errorf("second memory's private pages = %v, want the learned %v", d, want)
	}
	// Populating maps around the learned pages too (fault-around again).
	if r := mappedPages(t, sm); !containsAll(r, wantRead) {
		t.Errorf("second memory's mapped pages = %v, want at least the learned %v", r, wantRead)
	}
	sm.Reallocate(uint64(len(src)))
	if !bytes.Equal(second.Bytes(), src) {
		t.Error("populating changed the memory's contents")
	}

	// A derived image (the base's contents plus more) populates the base's hot pages
	// until it learns its own.
	ext := append(append([]byte(nil), src...), bytes.Repeat([]byte{9}, 4*osPage)...)
	child, err := NewImage(ext, ModeAuto)
	if err != nil {
		t.Fatal(err)
	}
	defer child.Close()
	sibling, err := NewImage(ext, ModeAuto)
	if err != nil {
		t.Fatal(err)
	}
	defer sibling.Close()
	Derive(child, base)
	Derive(sibling, base)
	cm, err := child.NewMemory(32 * osPage)
	if err != nil {
		t.Fatal(err)
	}
	defer cm.Free()
	if d := dirtyPages(t, cm.(*mapped)); len(d) != 0 {
		t.Fatalf("derived image populated pages before any derived image learned: %v", d)
	}
	cmem := cm.Reallocate(uint64(len(ext)))
	cmem[4*osPage], cmem[17*osPage] = 1, 1 // one page of the base's part, one of its own
	cm.Learn()
	sib, err := sibling.NewMemory(32 * osPage)
	if err != nil {
		t.Fatal(err)
	}
	defer sib.Free()
	if d := dirtyPages(t, sib.(*mapped)); !equalInts(d, []int{4}) {
		t.Errorf("sibling's private pages = %v, want [4]: the base part of what its sibling learned", d)
	}
	for _, p := range mappedPages(t, sib.(*mapped)) {
		if p >= 16 {
			t.Errorf("sibling maps page %d of the child's own part: only the base part is shared", p)
		}
	}
	if !bytes.Equal(sib.Reallocate(uint64(len(ext))), ext) {
		t.Error("populating changed the sibling's contents")
	}
}

func containsAll(have, want []int) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
