package web

import (
	"html/template"

	"github.com/sharedcare/sharedcare/internal/web/chart"
	"github.com/sharedcare/sharedcare/internal/web/recordview"
)

// TrendChart draws a trend of the record as an SVG chart titled title,
// with bands shaded and a goal line when given.
func TrendChart(t recordview.Trend, title string, bands []chart.Band, goal *float64) template.HTML {
	c := chart.Chart{Title: title, Unit: t.Unit, Bands: bands, Goal: goal}
	for i, ser := range t.Series {
		cs := chart.Series{}
		if i < len(t.Names) {
			cs.Name = t.Names[i]
		}
		for _, p := range ser {
			cs.Points = append(cs.Points, chart.Point{T: p.T, V: p.V})
		}
		c.Series = append(c.Series, cs)
	}
	return c.SVG()
}
