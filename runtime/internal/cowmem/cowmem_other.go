//go:build !linux

package cowmem

const cowSupported = false

func newMappedImage(mem []byte) (Image, error) { return newCopyImage(mem), nil }

func newMapped(im Image, limit uint64) (Memory, error) { return &copyMemory{limit: limit}, nil }

func derive(child, base Image) {}
