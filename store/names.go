package store

// ValidName reports whether a person key, item ID or timer ID is 1 to 128 of
// [A-Za-z0-9_-]: no braces to break Redis hash tags, no NUL or separator to
// break a store's encoding. Every store applies it, so data moves between them.
func ValidName(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
