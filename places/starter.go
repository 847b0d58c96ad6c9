package places

import (
	"bytes"
	"context"
	_ "embed" // the starter directory
	"fmt"
	"strings"
)

// starterCSV is the sourced starter directory (see README.md): 80 migrant
// services from the Darién to the US border, each with its public sources.
//
//go:embed starter.csv
var starterCSV []byte

// Starter parses the embedded starter directory. Its rows without coordinates
// get their town's centre from locate (nil locates nothing); the rows it
// cannot place are in Report.Bad, for the caller to warn about.
func Starter(locate Locator) (Report, error) {
	rep, err := ParseLocated(bytes.NewReader(starterCSV), locate)
	if err != nil {
		return Report{}, fmt.Errorf("places: starter directory: %w", err)
	}
	return rep, nil
}

// AutoStarterNote ends the notes of the starter places LoadStarter adds on
// its own, so that the next import replaces them (ReplaceAutoStarter); the
// same rows imported on purpose carry no such note and stay.
const AutoStarterNote = "[loaded automatically from the starter directory]"

// IsAutoStarter reports whether LoadStarter added the place on its own.
func (p Place) IsAutoStarter() bool { return strings.HasSuffix(p.Notes, AutoStarterNote) }

// LoadStarter fills an empty directory with the starter directory and
// returns what it imported and the rows it skipped. A directory that holds
// any place, closed ones included, is left alone.
func LoadStarter(ctx context.Context, st Store, locate Locator) (ImportResult, error) {
	n, err := st.CountPlaces(ctx)
	if err != nil {
		return ImportResult{}, fmt.Errorf("places: counting places: %w", err)
	}
	if n > 0 {
		return ImportResult{}, nil
	}
	rep, err := Starter(locate)
	if err != nil {
		return ImportResult{}, err
	}
	for i := range rep.Places {
		rep.Places[i].Notes = strings.TrimSpace(rep.Places[i].Notes + " " + AutoStarterNote)
	}
	return Import(ctx, st, rep, ImportOptions{SkipInvalid: true})
}

// ReplaceAutoStarter removes the places LoadStarter added on its own that an
// imported file does not name: importing a directory replaces the starter.
func ReplaceAutoStarter(ctx context.Context, st Store, rep Report) ([]string, error) {
	named := map[string]bool{}
	for _, p := range rep.Places {
		named[p.ID] = true
	}
	for _, b := range rep.Bad {
		named[b.ID] = true
	}
	all, err := st.AllPlaces(ctx)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, p := range all {
		if p.IsAutoStarter() && !named[p.ID] {
			ids = append(ids, p.ID)
		}
	}
	if err := st.DeletePlaces(ctx, ids); err != nil {
		return nil, fmt.Errorf("places: removing the starter directory: %w", err)
	}
	return ids, nil
}
