package redact_test

import (
	"testing"

	"github.com/reactord/reactord/internal/redact"
)

func TestString(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"visa", "4111111111111111", "************1111"},
		{"in text", "card=4242424242424242!", "card=************4242!"},
		{"glued to letters", "pan4242424242424242x", "pan************4242x"},
		{"spaces", "4111 1111 1111 1111", "**** **** **** 1111"},
		{"dashes", "5555-5555-5555-4444", "****-****-****-4444"},
		{"amex 15", "3782 822463 10005", "**** ****** *0005"},
		{"13 digits", "4222222222222", "*********2222"},
		{"19 digits", "6011000990139424124", "***************4124"},
		{"json", `{"number":"4242424242424242","cvc":"123"}`, `{"number":"************4242","cvc":"123"}`},
		{"card then expiry", "4111 1111 1111 1111 12 28", "**** **** **** 1111 12 28"},
		{"two cards", "4111111111111111,5555555555554444", "************1111,************4444"},
		{"not luhn", "4111111111111112", "4111111111111112"},
		{"too short", "411111111111", "411111111111"},
		{"too long", "41111111111111111111", "41111111111111111111"},
		{"double separator", "4111  1111  1111  1111", "4111  1111  1111  1111"},
		{"ssn", "ssn 123-45-6789.", "ssn ***-**-****."},
		{"ssn alone", "078-05-1120", "***-**-****"},
		{"ssn beside a number", "123-45-6789 2024", "***-**-**** 2024"},
		{"ssn chained", "123-45-6789-1", "123-45-6789-1"},
		{"ssn with spaces is a phone-like number", "123 45 6789", "123 45 6789"},
		{"phone", "555-123-4567", "555-123-4567"},
		{"date", "2024-03-05T10:20:30Z", "2024-03-05T10:20:30Z"},
		{"plain", "hello, world", "hello, world"},
		{"empty", "", ""},
		{"unicode around", "карта 4111111111111111 ✓", "карта ************1111 ✓"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := redact.String(tc.in); got != tc.want {
				t.Errorf("String(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
