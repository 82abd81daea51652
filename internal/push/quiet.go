package push

import "time"

// quiet is a member's quiet-hours rule as the worker reads it.
type quiet struct {
	start, end int // minutes after local midnight; start == end: none
	loc        *time.Location
}

// until reports whether now falls in the quiet hours and, if so, when they
// end. The end is computed as a local wall-clock time with time.Date, so a
// daylight-saving change in between moves it with the clock, as a person
// expects of "until 07:00".
func (q quiet) until(now time.Time) (time.Time, bool) {
	if q.loc == nil || q.start == q.end {
		return time.Time{}, false
	}
	local := now.In(q.loc)
	m := local.Hour()*60 + local.Minute()
	var in bool
	if q.start < q.end {
		in = m >= q.start && m < q.end
	} else { // wraps midnight: 22:00–07:00
		in = m >= q.start || m < q.end
	}
	if !in {
		return time.Time{}, false
	}
	y, mo, d := local.Date()
	end := time.Date(y, mo, d, q.end/60, q.end%60, 0, 0, q.loc)
	if !end.After(now) {
		end = time.Date(y, mo, d+1, q.end/60, q.end%60, 0, 0, q.loc)
	}
	return end, true
}
