package places

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Columns are the CSV header, in the order Export writes it. GeoJSON features
// carry the same names as properties (lat and lon come from the geometry).
var Columns = []string{"id", "name", "kind", "organization", "address", "city", "admin1", "country",
	"lat", "lon", "phone", "hours", "services", "languages", "notes", "verified", "status", "status_since"}

// required are the columns every row must fill. lat and lon may be left
// empty when a Locator finds the row's town (ParseLocated).
var required = []string{"id", "name", "kind", "country", "lat", "lon", "status"}

// dateLayout is how verified dates are written; monthLayout is accepted for a
// source that shows only the month.
const (
	dateLayout  = "2006-01-02"
	monthLayout = "2006-01"
)

// Locator finds the centre of a place's town, for a row without coordinates:
// it returns ok=false when it does not know the town, or knows several.
type Locator func(city, admin1, country string) (lat, lon float64, ok bool)

// RowError is one row of an import file that cannot be imported.
type RowError struct {
	Line     int // line number in the file (the CSV header is line 1)
	ID       string
	Problems []string
}

func (e RowError) String() string {
	id := ""
	if e.ID != "" {
		id = " (id " + e.ID + ")"
	}
	return fmt.Sprintf("line %d%s: %s", e.Line, id, strings.Join(e.Problems, "; "))
}

// Report is a parsed import file: the good places and every bad row.
type Report struct {
	Places []Place
	Bad    []RowError
}

// Parse reads a directory file: GeoJSON when it starts with "{", else CSV.
func Parse(r io.Reader) (Report, error) { return ParseLocated(r, nil) }

// ParseLocated is Parse where a CSV row with neither lat nor lon gets the
// centre of its town from locate (its notes then say TownCentreNote); a row
// whose town locate does not know stays bad, with a problem that says so.
func ParseLocated(r io.Reader, locate Locator) (Report, error) {
	buf, err := io.ReadAll(r)
	if err != nil {
		return Report{}, fmt.Errorf("places: reading: %w", err)
	}
	if trimmed := bytes.TrimLeft(buf, " \t\r\n\ufeff"); len(trimmed) > 0 && trimmed[0] == '{' {
		return ParseGeoJSON(buf)
	}
	return parseCSV(bytes.NewReader(buf), locate)
}

// ParseCSV reads the CSV form: a header naming the Columns (in any order;
// other columns are ignored), then one place per row.
func ParseCSV(r io.Reader) (Report, error) { return parseCSV(r, nil) }

func parseCSV(r io.Reader, locate Locator) (Report, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err == io.EOF {
		return Report{}, errors.New("places: empty file: want a CSV header")
	}
	if err != nil {
		return Report{}, fmt.Errorf("places: CSV header: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))] = i
	}
	var missing []string
	for _, c := range required {
		if _, ok := col[c]; !ok {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		return Report{}, fmt.Errorf("places: CSV header lacks column(s) %s (want %s)", strings.Join(missing, ", "), strings.Join(Columns, ","))
	}
	var rep Report
	seen := map[string]int{}
	rec, err := cr.Read()
	for err != io.EOF {
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return Report{}, fmt.Errorf("places: CSV: %w", err)
			}
			rep.Bad = append(rep.Bad, RowError{Line: pe.StartLine, Problems: []string{pe.Err.Error()}})
			rec, err = cr.Read()
			if errors.Is(pe.Err, csv.ErrQuote) && err == io.EOF {
				// The quote swallowed every line after it: no later row can
				// be told apart, so the file is refused whatever the options.
				return Report{}, fmt.Errorf("places: line %d: a quoted field opens there and is never closed (or has text after its "+
					"closing quote), so the rest of the file cannot be read; nothing imported (close the quote, or write a \" inside "+
					"a quoted field as \"\")", pe.StartLine)
			}
			continue
		}
		line, _ := cr.FieldPos(0)
		get := func(name string) string {
			if i, ok := col[name]; ok && i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		if locate != nil && get("lat") == "" && get("lon") == "" {
			get = locateRow(get, locate)
		}
		rep.add(line, get, seen)
		rec, err = cr.Read()
	}
	return rep, nil
}

// unlocated stands for the coordinates of a row whose town was not found.
const unlocated = "\x00unlocated"

// locateRow fills a row's lat and lon with its town's centre, when locate
// knows the town, and notes that the pin is only the town's centre.
func locateRow(get func(string) string, locate Locator) func(string) string {
	lat, lon, ok := locate(get("city"), get("admin1"), strings.ToUpper(get("country")))
	if !ok {
		return func(c string) string {
			if c == "lat" || c == "lon" {
				return unlocated // reported as the row's problem
			}
			return get(c)
		}
	}
	return func(c string) string {
		switch c {
		case "lat":
			return strconv.FormatFloat(lat, 'f', -1, 64)
		case "lon":
			return strconv.FormatFloat(lon, 'f', -1, 64)
		case "notes":
			if n := get("notes"); !strings.Contains(strings.ToLower(n), TownCentreNote) {
				return strings.TrimSpace(TownCentreNote + ". " + n)
			}
		}
		return get(c)
	}
}

// add parses one row (get returns a column's text) and files it as good or bad.
func (rep *Report) add(line int, get func(string) string, seen map[string]int) {
	p, problems := fromFields(get)
	if first, dup := seen[p.ID]; dup && p.ID != "" {
		problems = append(problems, fmt.Sprintf("id %s already used on line %d", p.ID, first))
	} else if p.ID != "" {
		seen[p.ID] = line
	}
	if len(problems) > 0 {
		rep.Bad = append(rep.Bad, RowError{Line: line, ID: p.ID, Problems: problems})
		return
	}
	rep.Places = append(rep.Places, p)
}

func fromFields(get func(string) string) (Place, []string) {
	p := Place{
		ID: get("id"), Name: get("name"), Kind: Kind(strings.ToLower(get("kind"))),
		Organization: get("organization"), Address: get("address"), City: get("city"), Admin1: get("admin1"),
		Country: strings.ToUpper(get("country")), Phone: get("phone"), Hours: get("hours"),
		Services: splitList(get("services")), Languages: splitList(get("languages")),
		Notes: get("notes"), Status: Status(strings.ToLower(get("status"))),
	}
	var problems []string
	bad := map[string]bool{}
	for _, c := range required {
		if get(c) == "" {
			problems = append(problems, c+" is required")
			bad[c] = true
		}
	}
	var err error
	if get("lat") == unlocated {
		problems = append(problems, "lat and lon are empty, and the town "+quote(get("city"))+" is not in the gazetteer (or has several matches)")
		bad["lat"], bad["lon"] = true, true
	} else if s := get("lat"); s != "" {
		if p.Lat, err = strconv.ParseFloat(s, 64); err != nil {
			problems, bad["lat"] = append(problems, "lat "+quote(s)+" is not a number"), true
		}
	}
	if s := get("lon"); s != "" && !bad["lon"] {
		if p.Lon, err = strconv.ParseFloat(s, 64); err != nil {
			problems, bad["lon"] = append(problems, "lon "+quote(s)+" is not a number"), true
		}
	}
	if s := get("status_since"); s != "" {
		if p.StatusSince, err = time.Parse(time.RFC3339, s); err != nil {
			problems, bad["status_since"] = append(problems, "status_since "+quote(s)+" is not a time YYYY-MM-DDThh:mm:ssZ"), true
		}
		p.StatusSince = p.StatusSince.UTC()
	}
	if s := get("verified"); s != "" {
		if p.Verified, err = time.Parse(dateLayout, s); err != nil {
			if p.Verified, err = time.Parse(monthLayout, s); err != nil {
				problems, bad["verified"] = append(problems, "verified "+quote(s)+" is not a date YYYY-MM-DD (or YYYY-MM)"), true
			}
		}
	}
	for _, v := range p.Validate() {
		field, _, _ := strings.Cut(v, " ")
		if !bad[field] && !(field == "lat" && bad["lon"]) && !(field == "lon" && bad["lat"]) {
			problems = append(problems, v)
		}
	}
	return p, problems
}

// FromFields reads a place back from the texts of its Columns and checks it.
func FromFields(get func(column string) string) (Place, error) {
	p, problems := fromFields(get)
	if len(problems) > 0 {
		return p, fmt.Errorf("places: place %q: %s", p.ID, strings.Join(problems, "; "))
	}
	return p, nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ";") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// Fields returns a place as the texts of its Columns (how stores without a
// schema of their own keep it, and how Export writes it).
func (p Place) Fields() map[string]string {
	verified, since := "", ""
	if !p.Verified.IsZero() {
		verified = p.Verified.Format(dateLayout)
	}
	if !p.StatusSince.IsZero() {
		since = p.StatusSince.UTC().Format(time.RFC3339)
	}
	return map[string]string{
		"id": p.ID, "name": p.Name, "kind": string(p.Kind), "organization": p.Organization, "address": p.Address,
		"city": p.City, "admin1": p.Admin1, "country": p.Country,
		"lat": strconv.FormatFloat(p.Lat, 'f', -1, 64), "lon": strconv.FormatFloat(p.Lon, 'f', -1, 64),
		"phone": p.Phone, "hours": p.Hours, "services": strings.Join(p.Services, ";"),
		"languages": strings.Join(p.Languages, ";"), "notes": p.Notes, "verified": verified, "status": string(p.Status),
		"status_since": since,
	}
}

// WriteCSV writes places in the import CSV form, header first.
func WriteCSV(w io.Writer, ps []Place) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(Columns); err != nil {
		return err
	}
	row := make([]string, len(Columns))
	for _, p := range ps {
		f := p.Fields()
		for i, c := range Columns {
			row[i] = f[c]
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// ParseGeoJSON reads a FeatureCollection of Point features whose properties
// are the Columns (lat and lon come from the geometry). A feature's line is
// where it starts in the file.
func ParseGeoJSON(buf []byte) (Report, error) {
	dec := json.NewDecoder(bytes.NewReader(buf))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return Report{}, errors.New("places: GeoJSON: want a FeatureCollection object")
	}
	var rep Report
	found, isCollection := false, false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return Report{}, fmt.Errorf("places: GeoJSON: %w", err)
		}
		key, _ := tok.(string)
		switch key {
		case "type":
			var typ string
			if err := dec.Decode(&typ); err != nil {
				return Report{}, fmt.Errorf("places: GeoJSON type: %w", err)
			}
			isCollection = typ == "FeatureCollection"
		case "features":
			found = true
			if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
				return Report{}, errors.New("places: GeoJSON: features must be an array")
			}
			seen := map[string]int{}
			for dec.More() {
				line := lineAt(buf, int(dec.InputOffset()))
				var f geoFeature
				if err := dec.Decode(&f); err != nil {
					return Report{}, fmt.Errorf("places: GeoJSON feature at line %d: %w", line, err)
				}
				rep.addFeature(line, f, seen)
			}
			if _, err := dec.Token(); err != nil {
				return Report{}, fmt.Errorf("places: GeoJSON: %w", err)
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return Report{}, fmt.Errorf("places: GeoJSON: %w", err)
			}
		}
	}
	if !isCollection || !found {
		return Report{}, errors.New("places: GeoJSON: want a FeatureCollection with features")
	}
	return rep, nil
}

type geoFeature struct {
	Type     string `json:"type"`
	Geometry *struct {
		Type        string          `json:"type"`
		Coordinates json.RawMessage `json:"coordinates"`
	} `json:"geometry"`
	Properties map[string]any `json:"properties"`
}

func (rep *Report) addFeature(line int, f geoFeature, seen map[string]int) {
	props := map[string]string{}
	for k, v := range f.Properties {
		switch v := v.(type) {
		case string:
			props[strings.ToLower(k)] = strings.TrimSpace(v)
		case float64:
			props[strings.ToLower(k)] = strconv.FormatFloat(v, 'f', -1, 64)
		case []any: // services and languages may be arrays
			var parts []string
			for _, e := range v {
				if s, ok := e.(string); ok {
					parts = append(parts, s)
				}
			}
			props[strings.ToLower(k)] = strings.Join(parts, ";")
		}
	}
	var extra []string
	if f.Type != "Feature" {
		extra = append(extra, "not a Feature")
	}
	var coords []float64
	if f.Geometry == nil || f.Geometry.Type != "Point" || json.Unmarshal(f.Geometry.Coordinates, &coords) != nil || len(coords) < 2 {
		extra = append(extra, "geometry must be a Point [lon, lat]")
	} else {
		props["lon"] = strconv.FormatFloat(coords[0], 'f', -1, 64)
		props["lat"] = strconv.FormatFloat(coords[1], 'f', -1, 64)
	}
	n := len(rep.Bad)
	rep.add(line, func(c string) string { return props[c] }, seen)
	if len(extra) == 0 {
		return
	}
	if len(rep.Bad) > n { // already bad: add these problems first
		rep.Bad[n].Problems = append(extra, rep.Bad[n].Problems...)
		return
	}
	p := rep.Places[len(rep.Places)-1]
	rep.Places = rep.Places[:len(rep.Places)-1]
	rep.Bad = append(rep.Bad, RowError{Line: line, ID: p.ID, Problems: extra})
}

// lineAt returns the line of the first token at or after offset.
func lineAt(buf []byte, offset int) int {
	for offset < len(buf) && (buf[offset] == ' ' || buf[offset] == '\t' || buf[offset] == '\r' || buf[offset] == '\n' || buf[offset] == ',') {
		offset++
	}
	return 1 + bytes.Count(buf[:offset], []byte("\n"))
}
