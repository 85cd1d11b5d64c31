package main

import (
	"bufio"
	"fmt"
	"io"
	"time"

	"github.com/meteragent/meteragent/processing"
	"github.com/meteragent/meteragent/storage"
)

// What `export` can write. daily, monthly and anomalies have the columns of
// the process command's files; readings has those of its input, so an
// export can be imported again.
var exportKinds = []string{"readings", "daily", "monthly", "anomalies"}

func validExport(what string) bool {
	for _, k := range exportKinds {
		if k == what {
			return true
		}
	}
	return false
}

// exportMeters returns the meters to export in the process command's order
// (physical meters, then masters, then virtual meters, each in config
// order), or only meter. An unknown meter is an error.
func exportMeters(h processing.House, meter string) ([]processing.Meter, error) {
	var out []processing.Meter
	for _, k := range []processing.Kind{processing.Physical, processing.Master, processing.Virtual} {
		for _, m := range h.Meters {
			if m.Kind == k && (meter == "" || m.ID == meter) {
				out = append(out, m)
			}
		}
	}
	if meter != "" && len(out) == 0 {
		return nil, fmt.Errorf("unknown meter %q: not a meter of the config", meter)
	}
	return out, nil
}

// checkExport refuses an export before anything is written: an unknown
// kind or id, or the outdoor temperature series (tempID, "" for none) for
// anything but its readings, since it has no computed series.
func checkExport(h processing.House, tempID, what, meter string) error {
	if !validExport(what) {
		return fmt.Errorf("unknown export %q (want one of %v)", what, exportKinds)
	}
	if meter != "" && meter == tempID {
		if what != "readings" {
			return fmt.Errorf("%q is the outdoor temperature series, not a meter: it has no %s series (export its readings with --what readings)", meter, what)
		}
		return nil
	}
	_, err := exportMeters(h, meter)
	return err
}

// writeExport writes the CSV of what for the meters, or for the readings of
// the outdoor temperature series when meter is tempID, to w, from the store.
func writeExport(w io.Writer, db *storage.DB, h processing.House, tempID, what, meter string) error {
	if err := checkExport(h, tempID, what, meter); err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	if what == "readings" {
		var ids []string
		if meter != "" && meter == tempID {
			ids = []string{tempID}
		} else {
			meters, _ := exportMeters(h, meter)
			for _, m := range meters {
				// Derived meters have no readings of their own.
				if m.Kind == processing.Physical {
					ids = append(ids, m.ID)
				}
			}
		}
		if err := writeReadingsCSV(bw, db, ids, h.Location); err != nil {
			return err
		}
		return bw.Flush()
	}
	meters, err := exportMeters(h, meter)
	if err != nil {
		return err
	}
	header := map[string]string{"daily": dailyHeader, "monthly": monthlyHeader, "anomalies": anomaliesHeader}[what]
	rows := map[string]func(*bufio.Writer, processing.Result){"daily": writeDailyRows, "monthly": writeMonthlyRows, "anomalies": writeAnomaliesRows}[what]
	if rows == nil {
		return fmt.Errorf("unknown export %q (want one of %v)", what, exportKinds)
	}
	bw.WriteString(header + "\n")
	// One meter at a time, so memory holds one stored result, not all.
	for _, m := range meters {
		sr, ok, err := db.Result(m.ID)
		if err != nil {
			return err
		}
		if ok {
			rows(bw, processing.Result{Meters: []processing.MeterResult{{Meter: m, Days: sr.Days, Months: sr.Months, Anomalies: sr.Anomalies}}})
		}
	}
	return bw.Flush()
}

func writeReadingsCSV(w *bufio.Writer, db *storage.DB, ids []string, loc *time.Location) error {
	w.WriteString(readingsHeader + "\n")
	var b []byte
	for _, id := range ids {
		rs, err := db.Readings(id, time.Time{}, time.Time{})
		if err != nil {
			return err
		}
		for _, r := range rs {
			b = append(b[:0], id...)
			b = append(b, ',')
			b = r.Time.In(loc).AppendFormat(b, time.RFC3339Nano)
			b = append(b, ',')
			b = append(b, formatValue(r.Value)...)
			b = append(b, '\n')
			w.Write(b)
		}
	}
	return nil
}
