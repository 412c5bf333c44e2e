package base58

import "testing"

func TestEncode(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"", ""},
		{"\x00", "1"},
		{"\x00\x00a", "112g"},
		{"hello world", "StV1DL6CwTryKyV"},
		{"\xff", "5Q"},
	} {
		if got := Encode([]byte(tt.in)); got != tt.want {
			t.Errorf("Encode(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
