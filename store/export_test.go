package store

// ListCalls reports how many times List ran, for tests that assert a lookup by key
// never scans the bucket.
func (s *Proxies) ListCalls() int64 { return s.lists.Load() }
