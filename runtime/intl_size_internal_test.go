package runtime

import (
	"bytes"
	"context"
	"os"
	"testing"
)

// BenchmarkSnapshotSize reports what a reactor's snapshot holds on each image: the
// linear memory's length and how much of it is not zero pages (what its memfd
// stores, per reactor version and per process).
func BenchmarkSnapshotSize(b *testing.B) {
	ctx := context.Background()
	dir, _ := os.UserCacheDir()
	eng, err := NewEngine(ctx, Config{CacheDir: dir + "/reactord-test/wazero"})
	if err != nil {
		b.Fatal(err)
	}
	defer eng.Close(ctx)
	for _, tc := range []struct{ name, image, code string }{
		{"node-bt", "node-bt", `module.exports = async () => 1;`},
		{"node22", "node22", `module.exports = async () => 1;`},
		// a reactor whose code mentions Intl has it evaluated in its snapshot
		{"node22-intl", "node22", `module.exports = async () => new Intl.NumberFormat('en-US').format(1);`},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var size, data int
			for b.Loop() {
				snap, err := eng.Load(ctx, Bundle{Image: tc.image, Code: []byte(tc.code)})
				if err != nil {
					b.Fatal(err)
				}
				mem, err := snap.image.NewMemory(maxMemory)
				if err != nil {
					b.Fatal(err)
				}
				size = snap.image.Size()
				buf := mem.Reallocate(uint64(size))
				data = 0
				zero := make([]byte, 4096)
				for off := 0; off+4096 <= len(buf); off += 4096 {
					if !bytes.Equal(buf[off:off+4096], zero) {
						data += 4096
					}
				}
				mem.Free()
				snap.Close()
			}
			b.ReportMetric(float64(size)/(1<<20), "MiB-memory")
			b.ReportMetric(float64(data)/(1<<20), "MiB-nonzero")
		})
	}
}
