package flows

import (
	"bufio"
	"os"
	"strings"
	"testing"
	"time"
)

// TestParseMonth reads testdata/months.txt: months written with numbers or
// with their names in the five languages (a Kreyòl "out" is August, a
// Portuguese one October), a day in front, and what is refused (a month
// with no year, one in the future). "sept 2026" once kept 2026 and dropped
// the month without a word.
func TestParseMonth(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	f, err := os.Open("testdata/months.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		cols := strings.Split(line, "\t")
		if len(cols) != 3 {
			t.Fatalf("bad line %q", line)
		}
		got, ok := parseMonth(cols[0], cols[1], now)
		if !ok {
			got = "no"
		}
		if got != cols[2] {
			t.Errorf("parseMonth(%q, %s) = %q, want %q", cols[0], cols[1], got, cols[2])
		}
		n++
	}
	if n < 20 {
		t.Fatalf("only %d cases read", n)
	}
}

// TestBirthYear: an age or a year, with words around it.
func TestBirthYear(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	for typed, want := range map[string]int{
		"34": 1992, "34 años": 1992, "unos 17 años": 2009, "tiene 17": 2009, "environ 40 ans": 1986,
		"1990": 1990, "nació en 1990": 1990, "3/4/1990": 1990, "2008": 2008, "li gen 20 an": 2006,
		"200": 0, "no se": 0, "": 0, "1800": 0,
	} {
		got, ok := birthYear(typed, now)
		if !ok {
			got = 0
		}
		if got != want {
			t.Errorf("birthYear(%q) = %d, want %d", typed, got, want)
		}
	}
}
