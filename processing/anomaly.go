package processing

import "time"

// Anomaly is one day or reading interval whose use is unusual.
type Anomaly struct {
	Date        time.Time // first day of the judged day or interval
	Days        int       // length of the judged interval in days (1 for a day)
	Consumption float64   // use per day over the interval
	Expected    float64   // expected use per day
	Score       float64   // strength: |z| of the strongest test that fired
	Tests       []string  // tests that fired, e.g. "zscore", "iqr", "rolling"
	Kind        string    // e.g. "spike", "drop"; "" when not classified
}

// AnomalyOptions select and tune anomaly detection.
type AnomalyOptions struct {
	Method string // "consensus" (default): spec §6 with the W-11 fixes
}
