package builder

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Error codes of build failures, shown as the reactor's requested.error_code.
const (
	// CodeVulnerabilities: HIGH or CRITICAL advisories in the resolved tree.
	CodeVulnerabilities = "vulnerabilities_detected"
	// CodeDependencyNotFound: a package or version is not in the registry.
	CodeDependencyNotFound = "dependency_not_found"
	// CodeInvalidDependencies: a dependency or resolution is malformed or not pinned.
	CodeInvalidDependencies = "invalid_dependencies"
	// CodeInstallFailed: npm failed for another reason (network, registry).
	CodeInstallFailed = "dependency_install_failed"
	// CodeScanUnavailable: the scan could not run (no source configured, an unreadable
	// database, an unreachable API) and the configuration requires one.
	CodeScanUnavailable = "vulnerability_scan_unavailable"
	// CodeUnsupportedImage: the image is not one the builder builds for.
	CodeUnsupportedImage = "unsupported_image"
	// CodeBuildFailed: bundling failed, or the bundle does not load in the runtime.
	CodeBuildFailed = "build_failed"
)

// VulnerabilitiesMessage is the error_message of CodeVulnerabilities, as in the seeds.
const VulnerabilitiesMessage = "Please update the dependencies listed to resolve security vulnerabilities."

// Error is a build failure a user can act on. It marshals to the reactor's
// requested {error_code, error_message, error_details} fields.
type Error struct {
	Code    string `json:"error_code"`
	Message string `json:"error_message"`
	// Details is set for CodeVulnerabilities (VulnerabilityDetails).
	Details any `json:"error_details,omitempty"`
}

// VulnerabilityDetails is the error_details of CodeVulnerabilities.
type VulnerabilityDetails struct {
	Vulnerabilities []Vulnerability `json:"vulnerabilities"`
}

func (e *Error) Error() string {
	if e.Code == CodeVulnerabilities {
		if d, ok := e.Details.(VulnerabilityDetails); ok {
			b, _ := json.Marshal(d.Vulnerabilities)
			return fmt.Sprintf("%s: %s %s", e.Code, e.Message, b)
		}
	}
	return e.Code + ": " + e.Message
}

// AsError returns err's *Error, or any other error (an I/O failure, a cancelled build)
// wrapped as CodeBuildFailed.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Code: CodeBuildFailed, Message: err.Error()}
}

func errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}
