package runtime

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"os"
	"testing"
	"unsafe"
)

// privatePages counts the pages of b that are private copies (written), from
// /proc/self/pagemap.
func privatePages(t *testing.T, b []byte) int {
	t.Helper()
	f, err := os.Open("/proc/self/pagemap")
	if err != nil {
		t.Skipf("no pagemap here: %v", err)
	}
	defer f.Close()
	n := len(b) / 4096
	buf := make([]byte, n*8)
	if _, err := f.ReadAt(buf, int64(uintptr(unsafe.Pointer(&b[0]))/4096)*8); err != nil {
		t.Skipf("pagemap unreadable here: %v", err)
	}
	count := 0
	for i := range n {
		e := binary.LittleEndian.Uint64(buf[i*8:])
		if e&(1<<63) != 0 && e&(1<<61) == 0 {
			count++
		}
	}
	return count
}

// TestLearnAfterInvocations: the pages a snapshot's first instance touches in its first
// invocations are learned after the caller has its answers (or when the instance is
// closed first), and instances made later start with the written ones populated.
func TestLearnAfterInvocations(t *testing.T) {
	ctx := context.Background()
	e, err := NewEngine(ctx, Config{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(ctx)
	for _, closeAtOnce := range []bool{true, false} {
		s, err := e.Load(ctx, Bundle{Code: []byte(`module.exports = async (req) => ({ raw: JSON.stringify(req.args).length })`)})
		if err != nil {
			t.Fatal(err)
		}
		lim, _ := TierLimits(Standard)
		first, err := s.NewInstance(ctx, lim)
		if err != nil {
			t.Fatal(err)
		}
		before, err := s.NewInstance(ctx, lim) // made before anything was learned
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if r, err := first.Invoke(ctx, Event{Args: json.RawMessage(`{"a":1}`)}); err != nil || r.Status != 200 {
				t.Fatalf("invoke: %v %d %s", err, r.Status, r.Body)
			}
		}
		if closeAtOnce {
			first.Close(ctx) // learns what is pending before it closes
		} else {
			first.Invoke(ctx, Event{Args: json.RawMessage(`{"a":1}`)}) // its next use learns first, if the goroutine has not
		}
		after, err := s.NewInstance(ctx, lim)
		if err != nil {
			t.Fatal(err)
		}
		nb, na := privatePages(t, before.mem.Bytes()), privatePages(t, after.mem.Bytes())
		if na <= nb {
			t.Errorf("close at once %v: an instance made after the first one's invocations has %d private pages, one made before %d: nothing learned",
				closeAtOnce, na, nb)
		}
		for _, in := range []*Instance{first, before, after} {
			in.Close(ctx)
		}
		s.Close()
	}
}
