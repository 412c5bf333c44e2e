package bundles

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// FS keeps bundles as files DIR/ab/abcdef... (the first two hex digits fan out the
// directory).
type FS struct{ dir string }

// NewFS returns a filesystem store rooted at dir, creating it.
func NewFS(dir string) (*FS, error) {
	if dir == "" {
		return nil, errors.New("bundles: empty directory")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("bundles: %w", err)
	}
	return &FS{dir: dir}, nil
}

func (s *FS) path(sha string) string { return filepath.Join(s.dir, sha[:2], sha) }

// Put implements Store. The file is written under a temporary name and renamed, so a
// reader never sees a partial bundle.
func (s *FS) Put(ctx context.Context, data []byte) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	sha := Hash(data)
	p := s.path(sha)
	if _, err := os.Stat(p); err == nil {
		return sha, nil
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return "", fmt.Errorf("bundles: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), sha+".tmp*")
	if err != nil {
		return "", fmt.Errorf("bundles: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return "", fmt.Errorf("bundles: write %s: %w", sha, err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("bundles: write %s: %w", sha, err)
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return "", fmt.Errorf("bundles: %w", err)
	}
	return sha, nil
}

// Get implements Store.
func (s *FS) Get(ctx context.Context, sha string) ([]byte, error) {
	if err := checkSHA(sha); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(s.path(sha))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("bundles: %s: %w", sha, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("bundles: %w", err)
	}
	return verify(sha, data)
}
