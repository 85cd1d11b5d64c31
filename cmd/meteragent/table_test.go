package main

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// A unit such as m³ takes more bytes than columns: the tables of process and
// status align by characters, so every row's columns end where the header's do.
func TestTableLinesAlignsByCharacters(t *testing.T) {
	rows := [][]string{
		{"meter", "unit", "readings"},
		{"strom", "kWh", "17485"},
		{"gas", "m³", "41"},
		{"küche", "L", "7"},
	}
	lines := tableLines(rows, map[int]bool{2: true})
	if len(lines) != len(rows) {
		t.Fatalf("%d lines for %d rows", len(lines), len(rows))
	}
	want := utf8.RuneCountInString(lines[0])
	for i, l := range lines {
		if n := utf8.RuneCountInString(l); n != want {
			t.Errorf("line %d %q is %d characters wide, header %d", i, l, n, want)
		}
		// The unit column starts at the same character in every row.
		if at := utf8.RuneCountInString(l[:strings.Index(l, rows[i][1])]); at != 7 {
			t.Errorf("line %d %q: unit at character %d, want 7", i, l, at)
		}
	}
}
