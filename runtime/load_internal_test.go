package runtime

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"
)

// TestLoadConcurrencyIsBounded: with MaxLoads 1, a Load waits while another one
// evaluates code, and gives up when its context ends.
func TestLoadConcurrencyIsBounded(t *testing.T) {
	ctx := context.Background()
	dir, _ := os.UserCacheDir()
	eng, err := NewEngine(ctx, Config{CacheDir: dir + "/reactord-test/wazero", MaxLoads: 1, SpareInstances: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close(ctx)
	first := make(chan error, 1)
	go func() {
		_, err := eng.Load(ctx, Bundle{Code: []byte(`while (true) {}`), Limits: Limits{Memory: 128 << 20, Timeout: 3 * time.Second}})
		first <- err
	}()
	for len(eng.loads) == 0 {
		time.Sleep(time.Millisecond)
	}
	wctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	_, err = eng.Load(wctx, Bundle{Code: []byte(`module.exports = async () => 1`)})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("second load while the only slot is taken: %v, want it to wait until its context ends", err)
	}
	var ce *CodeError
	if err := <-first; !errors.As(err, &ce) {
		t.Errorf("first load: %v, want a CodeError (timeout)", err)
	}
	if _, err := eng.Load(ctx, Bundle{Code: []byte(`module.exports = async () => 1`)}); err != nil {
		t.Errorf("load after the slot was released: %v", err)
	}
}
