//go:build linux

package cowmem

import (
	"bytes"
	"testing"
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
