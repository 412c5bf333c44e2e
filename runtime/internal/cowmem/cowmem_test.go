package cowmem

import (
	"bytes"
	"testing"
)

func modes(t *testing.T) map[string]Mode {
	m := map[string]Mode{"copy": ModeCopy}
	if cowSupported {
		m["cow"] = ModeAuto
	}
	return m
}

func TestImageMemoryReset(t *testing.T) {
	for name, mode := range modes(t) {
		t.Run(name, func(t *testing.T) {
			src := make([]byte, 4*pageSize)
			copy(src[100:], "snapshot")
			copy(src[3*pageSize+5:], "tail")
			im, err := NewImage(src, mode)
			if err != nil {
				t.Fatal(err)
			}
			defer im.Close()
			if im.Size() != len(src) {
				t.Fatalf("size %d", im.Size())
			}
			a, err := im.NewMemory(16 * pageSize)
			if err != nil {
				t.Fatal(err)
			}
			b, err := im.NewMemory(16 * pageSize)
			if err != nil {
				t.Fatal(err)
			}
			defer a.Free()
			defer b.Free()
			buf := a.Reallocate(uint64(len(src)))
			if !bytes.Equal(buf, src) {
				t.Fatal("memory does not hold the image")
			}
			copy(buf[100:], "mutated!")
			if got := b.Reallocate(uint64(len(src))); !bytes.Equal(got, src) {
				t.Fatal("a write to one memory is visible in another")
			}
			grown := a.Reallocate(uint64(8 * pageSize))
			if len(grown) != 8*pageSize {
				t.Fatalf("grown length %d", len(grown))
			}
			grown[7*pageSize] = 9
			if err := a.Reset(); err != nil {
				t.Fatal(err)
			}
			after := a.Bytes()
			if !bytes.Equal(after[:len(src)], src) {
				t.Fatal("reset did not restore the image")
			}
			if after[7*pageSize] != 0 {
				t.Fatal("reset did not clear the grown range")
			}
			if a.Reallocate(17*pageSize) != nil || !a.AtLimit() {
				t.Fatal("growth past the limit was allowed")
			}
		})
	}
}

func TestImageLargerThanLimit(t *testing.T) {
	for name, mode := range modes(t) {
		im, err := NewImage(make([]byte, 4*pageSize), mode)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := im.NewMemory(2 * pageSize); err != ErrLimit {
			t.Errorf("%s: err = %v, want ErrLimit", name, err)
		}
		im.Close()
	}
}

func TestFreshMemory(t *testing.T) {
	for name, mode := range modes(t) {
		m, err := NewMemory(4*pageSize, mode)
		if err != nil {
			t.Fatal(err)
		}
		buf := m.Reallocate(2 * pageSize)
		if len(buf) != 2*pageSize || !allZero(buf) {
			t.Errorf("%s: fresh memory is not %d zero bytes", name, 2*pageSize)
		}
		buf[10] = 1
		if err := m.Reset(); err != nil || m.Bytes()[10] != 0 {
			t.Errorf("%s: reset of a fresh memory did not zero it", name)
		}
		m.Free()
	}
}
