package middleware

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
)

// An inline logo (Brand.Logo) is written into every page, so it must not
// be able to do what the pages promise not to: run a script, load
// something from elsewhere, or restyle the page. sanitizeLogo parses the
// markup as XML and writes it out again from an allowlist of drawing
// elements and presentation attributes; anything else is refused with an
// error naming it (never silently dropped: the application should see
// that its logo is not what it drew). The output is built from the parsed
// names and values, escaped again, so nothing of the input's syntax
// (comments, entities, CDATA, odd quoting) reaches the page.

const (
	maxLogoBytes    = 32 << 10
	maxLogoDepth    = 32
	maxLogoElements = 2000
	svgNamespace    = "http://www.w3.org/2000/svg"
)

// logoElements are the SVG elements a logo may use: shapes, text,
// grouping, gradients, clipping and masking (SVG 2, https://www.w3.org/TR/SVG2/).
// Left out: script, style, a, image, use, foreignObject, animation,
// filters, patterns, fonts — what runs code, loads resources, links or
// references other content.
var logoElements = setOf("svg", "g", "path", "rect", "circle", "ellipse", "line", "polyline",
	"polygon", "text", "tspan", "title", "desc", "defs", "linearGradient", "radialGradient",
	"stop", "clipPath", "mask")

// logoAttributes are the attributes a logo's elements may carry: geometry
// and presentation attributes (SVG 2 §6.6 and the elements' own). No
// event handler, href, style or class.
var logoAttributes = setOf("id", "viewBox", "preserveAspectRatio", "width", "height", "x", "y",
	"x1", "y1", "x2", "y2", "cx", "cy", "r", "rx", "ry", "fx", "fy", "fr", "d", "points",
	"pathLength", "transform", "fill", "fill-opacity", "fill-rule", "stroke", "stroke-width",
	"stroke-linecap", "stroke-linejoin", "stroke-miterlimit", "stroke-dasharray",
	"stroke-dashoffset", "stroke-opacity", "opacity", "color", "clip-path", "clip-rule", "mask",
	"display", "visibility", "offset", "stop-color", "stop-opacity", "gradientUnits",
	"gradientTransform", "spreadMethod", "clipPathUnits", "maskUnits", "maskContentUnits",
	"font-family", "font-size", "font-weight", "font-style", "text-anchor",
	"dominant-baseline", "letter-spacing", "dx", "dy", "version")

// rootReplaced are attributes of the root <svg> that sanitizeLogo sets
// itself.
var rootReplaced = setOf("aria-hidden", "focusable", "role", "aria-label", "aria-labelledby")

// localRef is the one form of url() a logo may use: a reference to an
// element of its own, such as fill="url(#grad)".
var (
	localRef = regexp.MustCompile(`^url\(#[A-Za-z][A-Za-z0-9_-]*\)$`)
	logoID   = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]*$`)
)

func setOf(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// sanitizeLogo returns logo, inline SVG markup, written out again from its
// allowed parts, or an error saying what is not allowed. The root <svg>
// gets aria-hidden="true" and focusable="false": Brand.Name beside it is
// its text.
func sanitizeLogo(logo string) (string, error) {
	if len(logo) > maxLogoBytes {
		return "", fmt.Errorf("%d bytes; at most %d KiB", len(logo), maxLogoBytes>>10)
	}
	d := xml.NewDecoder(strings.NewReader(logo))
	d.Strict = true
	d.Entity = nil // the five predefined entities only
	var out strings.Builder
	var open []string
	elements, rootDone := 0, false
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", fmt.Errorf("not well-formed SVG: %v", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if rootDone {
				return "", errors.New("markup after the </svg>: give one <svg> element")
			}
			name := t.Name.Local
			if t.Name.Space != "" && t.Name.Space != svgNamespace || !logoElements[name] {
				return "", fmt.Errorf("element <%s> is not allowed: a logo is plain SVG drawing (shapes, text, gradients, clip paths), without script, style, links or images", name)
			}
			if len(open) == 0 && name != "svg" {
				return "", fmt.Errorf("the logo must be an <svg> element, not <%s>", name)
			}
			if len(open) > 0 && name == "svg" {
				return "", errors.New("nested <svg> is not allowed")
			}
			if elements++; elements > maxLogoElements || len(open) >= maxLogoDepth {
				return "", fmt.Errorf("too complex: at most %d elements, nested %d deep", maxLogoElements, maxLogoDepth)
			}
			out.WriteString("<" + name)
			hasViewBox := false
			for _, a := range t.Attr {
				if a.Name.Space == "xmlns" || a.Name.Space == "" && a.Name.Local == "xmlns" {
					continue // namespace declarations: written again below
				}
				if len(open) == 0 && a.Name.Space == "" && rootReplaced[a.Name.Local] {
					continue // the logo is hidden from assistive technology: Name is its text
				}
				if a.Name.Space != "" || !logoAttributes[a.Name.Local] {
					return "", fmt.Errorf("attribute %q of <%s> is not allowed: use presentation attributes such as fill, stroke and transform (no event handlers, href, style or class)", attrName(a.Name), name)
				}
				if err := checkLogoValue(a.Name.Local, a.Value); err != nil {
					return "", fmt.Errorf("attribute %s of <%s>: %v", a.Name.Local, name, err)
				}
				hasViewBox = hasViewBox || a.Name.Local == "viewBox"
				out.WriteString(" " + a.Name.Local + `="` + escapeAttr(a.Value) + `"`)
			}
			if len(open) == 0 {
				if !hasViewBox {
					return "", errors.New(`the <svg> needs a viewBox, such as viewBox="0 0 32 32", so it can be scaled`)
				}
				out.WriteString(` xmlns="` + svgNamespace + `" aria-hidden="true" focusable="false"`)
			}
			out.WriteString(">")
			open = append(open, name)
		case xml.EndElement:
			// The decoder (Strict) has checked it matches.
			out.WriteString("</" + t.Name.Local + ">")
			open = open[:len(open)-1]
			rootDone = len(open) == 0
		case xml.CharData:
			text := string(t)
			if len(open) == 0 || !textElement(open[len(open)-1]) {
				if strings.TrimSpace(text) != "" {
					return "", errors.New("text outside <text>, <tspan>, <title> or <desc>")
				}
				continue
			}
			xml.EscapeText(&out, []byte(text))
		case xml.Comment, xml.ProcInst:
			// Dropped: an <?xml?> declaration, editors' comments.
		case xml.Directive:
			return "", errors.New("<!DOCTYPE> and other declarations are not allowed")
		}
	}
	if !rootDone {
		return "", errors.New("no complete <svg> element")
	}
	return out.String(), nil
}

// checkLogoValue refuses attribute values that could reach outside the
// logo: any url() but a local reference, and control characters.
func checkLogoValue(name, v string) error {
	if strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r == 0x7f }) {
		return errors.New("control character")
	}
	if name == "id" && !logoID.MatchString(v) {
		return fmt.Errorf("id %q: use letters, digits, '-' and '_', starting with a letter", v)
	}
	if strings.Contains(strings.ToLower(v), "url(") && !localRef.MatchString(strings.TrimSpace(v)) {
		return errors.New("only url(#id) references to the logo's own elements are allowed")
	}
	if strings.ContainsAny(v, "\\") || strings.Contains(strings.ToLower(v), "javascript:") {
		return errors.New("backslashes and javascript: are not allowed")
	}
	return nil
}

func textElement(name string) bool {
	return name == "text" || name == "tspan" || name == "title" || name == "desc"
}

func attrName(n xml.Name) string {
	if n.Space != "" {
		return n.Space + ":" + n.Local
	}
	return n.Local
}

// escapeAttr escapes v for a double-quoted attribute value.
func escapeAttr(v string) string {
	return strings.NewReplacer("&", "&amp;", `"`, "&quot;", "<", "&lt;", ">", "&gt;", "\t", "&#9;", "\n", "&#10;", "\r", "&#13;").Replace(v)
}
