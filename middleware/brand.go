package middleware

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Brand is the application's identity on every page portcullis shows: the
// sign-in page, the error pages (403 and "provider unavailable" among
// them), the sign-out confirmation and the signed-out page. The zero value
// shows no name and no logo, in portcullis's own blue.
//
// Name is the text alternative of the logo, so the logo itself is
// decorative (hidden from screen readers): a logo needs a Name. Brand does
// not restyle pages replaced through [Config.Pages]; they receive it in
// [Page] to use as they like.
type Brand struct {
	// Name is the application's name, such as "Acme Notes": shown above
	// each page and in its title ("Sign in – Acme Notes"). Plain text of
	// at most 60 characters, without control characters. Default: none.
	Name string
	// Logo is the application's logo as inline SVG markup, an <svg>
	// element with a viewBox, shown 32 px high before Name. New accepts
	// only plain drawing: the elements svg, g, path, rect, circle,
	// ellipse, line, polyline, polygon, text, tspan, title, desc, defs,
	// linearGradient, radialGradient, stop, clipPath and mask, with their
	// presentation attributes and url(#id) references to each other — no
	// script, style, link, image or event attribute, so the logo can
	// neither run code nor load anything — and at most 32 KiB. It is
	// written out again from what New parsed, not copied. Default: none.
	Logo string
	// LogoURL is the path of a logo image on the application's own
	// origin, such as "/static/logo.png", used instead of Logo (set one
	// of them). A URL with a scheme or a host is refused: the pages make
	// no request to another origin, and their Content-Security-Policy
	// gains img-src 'self' for it. Default: none.
	LogoURL string
	// Accent is the colour of links, primary buttons and focus rings, as
	// "#rrggbb", in the light scheme. It must have a contrast of at least
	// 4.5:1 with the light page background (WCAG 2.2 success criterion
	// 1.4.3); New refuses a lighter colour and suggests the nearest
	// darker shade that passes. The dark scheme uses the same hue made
	// lighter until it has 4.5:1 with the dark background; hover shades
	// are derived, and button text is white or near-black, whichever
	// contrasts more. Default: #1f5fbf (#7fb0ff in the dark scheme).
	Accent string
}

const (
	maxBrandName = 60
	// minContrast is WCAG 2.2's minimum for text (SC 1.4.3, level AA).
	minContrast = 4.5
)

// rgb is a colour in sRGB.
type rgb [3]uint8

// parseHex reads "#rrggbb".
func parseHex(s string) (rgb, bool) {
	if len(s) != 7 || s[0] != '#' {
		return rgb{}, false
	}
	var c rgb
	for i := range c {
		v, err := strconv.ParseUint(s[1+2*i:3+2*i], 16, 8)
		if err != nil {
			return rgb{}, false
		}
		c[i] = uint8(v)
	}
	return c, true
}

func (c rgb) String() string { return fmt.Sprintf("#%02x%02x%02x", c[0], c[1], c[2]) }

// luminance is the relative luminance of WCAG 2.2
// (https://www.w3.org/TR/WCAG22/#dfn-relative-luminance).
func (c rgb) luminance() float64 {
	var l [3]float64
	for i, v := range c {
		s := float64(v) / 255
		if s <= 0.04045 {
			l[i] = s / 12.92
		} else {
			l[i] = math.Pow((s+0.055)/1.055, 2.4)
		}
	}
	return 0.2126*l[0] + 0.7152*l[1] + 0.0722*l[2]
}

// contrastRatio is WCAG 2.2's contrast ratio of two colours
// (https://www.w3.org/TR/WCAG22/#dfn-contrast-ratio), from 1 to 21.
func contrastRatio(a, b rgb) float64 {
	la, lb := a.luminance(), b.luminance()
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

// withLightness returns c with its HSL lightness set to l (0 to 1), hue
// and saturation kept. Each channel grows with l, and so does luminance.
func (c rgb) withLightness(l float64) rgb {
	r, g, b := float64(c[0])/255, float64(c[1])/255, float64(c[2])/255
	hi, lo := max(r, g, b), min(r, g, b)
	var h, s float64
	if d := hi - lo; d > 0 {
		s = d / (1 - math.Abs(hi+lo-1))
		switch hi {
		case r:
			h = math.Mod((g-b)/d, 6)
		case g:
			h = (b-r)/d + 2
		default:
			h = (r-g)/d + 4
		}
		h *= 60
		if h < 0 {
			h += 360
		}
	}
	l = min(max(l, 0), 1)
	ch := (1 - math.Abs(2*l-1)) * s
	x := ch * (1 - math.Abs(math.Mod(h/60, 2)-1))
	var rr, gg, bb float64
	switch {
	case h < 60:
		rr, gg = ch, x
	case h < 120:
		rr, gg = x, ch
	case h < 180:
		gg, bb = ch, x
	case h < 240:
		gg, bb = x, ch
	case h < 300:
		rr, bb = x, ch
	default:
		rr, bb = ch, x
	}
	m := l - ch/2
	to := func(v float64) uint8 { return uint8(math.Round(min(max(v+m, 0), 1) * 255)) }
	return rgb{to(rr), to(gg), to(bb)}
}

// lightness is c's HSL lightness, 0 to 1.
func (c rgb) lightness() float64 {
	hi, lo := max(c[0], c[1], c[2]), min(c[0], c[1], c[2])
	return (float64(hi) + float64(lo)) / 2 / 255
}

// shift moves c's lightness by step (negative: darker) until ok(c) holds;
// at 0 or 1 lightness it stops, reporting whether ok holds there.
func (c rgb) shift(step float64, ok func(rgb) bool) (rgb, bool) {
	l, at := c.lightness(), c
	for !ok(at) {
		if step < 0 && l <= 0 || step > 0 && l >= 1 {
			return at, false
		}
		l = min(max(l+step, 0), 1)
		at = c.withLightness(l)
	}
	return at, true
}

// scheme is the colours of one colour scheme of the built-in pages.
type scheme struct {
	bg, card, text, muted, border, danger  rgb
	accent, accentText, accentHover, focus rgb
}

// The built-in palettes. Accent colours are filled in by palettes.
var (
	lightBase = scheme{bg: rgb{0xf6, 0xf7, 0xf9}, card: rgb{0xff, 0xff, 0xff}, text: rgb{0x1b, 0x1f, 0x24}, muted: rgb{0x4b, 0x55, 0x63}, border: rgb{0xd0, 0xd7, 0xde}, danger: rgb{0xa4, 0x16, 0x1a}}
	darkBase  = scheme{bg: rgb{0x0f, 0x11, 0x15}, card: rgb{0x18, 0x1b, 0x21}, text: rgb{0xe8, 0xea, 0xed}, muted: rgb{0xb3, 0xba, 0xc5}, border: rgb{0x3a, 0x40, 0x49}, danger: rgb{0xff, 0x9b, 0x9b}}
	// Candidate colours for text on an accent-coloured button.
	onAccent = [...]rgb{{0xff, 0xff, 0xff}, {0x0b, 0x10, 0x20}}
)

const (
	defaultAccent     = "#1f5fbf"
	defaultAccentDark = "#7fb0ff"
	defaultFocusDark  = "#9cc3ff"
	// hoverStep is how much darker (light scheme) or lighter (dark
	// scheme) a primary button gets under the pointer: away from the
	// background, so its text's contrast only grows.
	hoverStep = 0.08
)

// readable reports whether c, as text or as a button's fill, has
// minContrast with both backgrounds of sc.
func (sc scheme) readable(c rgb) bool {
	return contrastRatio(c, sc.bg) >= minContrast && contrastRatio(c, sc.card) >= minContrast
}

// palettes returns the light and dark colours for accent ("" for the
// default), or an error saying which colour to use instead.
func palettes(accent string) (light, dark scheme, problem string) {
	light, dark = lightBase, darkBase
	if accent == "" {
		light.accent, _ = parseHex(defaultAccent)
		dark.accent, _ = parseHex(defaultAccentDark)
		light.focus = light.accent
		dark.focus, _ = parseHex(defaultFocusDark)
	} else {
		c, ok := parseHex(accent)
		if !ok {
			return light, dark, fmt.Sprintf("Accent %q is not a colour of the form #rrggbb, such as #1f5fbf", accent)
		}
		if !light.readable(c) {
			msg := fmt.Sprintf("Accent %s has a contrast of %.2f:1 with the light page background %v; links and buttons need %.1f:1 (WCAG 2.2 SC 1.4.3)",
				accent, min(contrastRatio(c, light.bg), contrastRatio(c, light.card)), light.bg, minContrast)
			if better, ok := c.shift(-0.01, light.readable); ok {
				msg += fmt.Sprintf(": use a darker shade such as %v", better)
			}
			return light, dark, msg
		}
		light.accent, light.focus = c, c
		// Always found: white is readable on the dark backgrounds.
		dark.accent, _ = c.shift(0.01, dark.readable)
		dark.focus = dark.accent
	}
	for _, v := range [...]struct {
		sc   *scheme
		step float64
	}{{&light, -hoverStep}, {&dark, hoverStep}} {
		sc := v.sc
		sc.accentHover = sc.accent.withLightness(sc.accent.lightness() + v.step)
		sc.accentText = onAccent[0]
		if contrastRatio(onAccent[1], sc.accent) > contrastRatio(onAccent[0], sc.accent) {
			sc.accentText = onAccent[1]
		}
		for _, fill := range [...]rgb{sc.accent, sc.accentHover} {
			if r := contrastRatio(sc.accentText, fill); r < minContrast {
				return light, dark, fmt.Sprintf("Accent %q: button text on %v has a contrast of %.2f:1, want %.1f:1: choose a darker colour", accent, fill, r, minContrast)
			}
		}
	}
	return light, dark, ""
}

// vars is sc as CSS custom properties.
func (sc scheme) vars() string {
	var b strings.Builder
	for _, v := range []struct {
		name string
		c    rgb
	}{
		{"bg", sc.bg}, {"card", sc.card}, {"text", sc.text}, {"muted", sc.muted}, {"border", sc.border},
		{"accent", sc.accent}, {"accent-text", sc.accentText}, {"accent-hover", sc.accentHover},
		{"focus", sc.focus}, {"danger", sc.danger},
	} {
		if b.Len() > 0 {
			b.WriteByte(';')
		}
		fmt.Fprintf(&b, "--%s:%v", v.name, v.c)
	}
	return b.String()
}

// checkBrandName reports what is wrong with Brand.Name, or "".
func checkBrandName(name string) string {
	switch {
	case !utf8.ValidString(name):
		return "Name is not valid UTF-8"
	case utf8.RuneCountInString(name) > maxBrandName:
		return fmt.Sprintf("Name is %d characters long; use at most %d", utf8.RuneCountInString(name), maxBrandName)
	case strings.TrimSpace(name) != name:
		return "Name starts or ends with white space"
	case strings.IndexFunc(name, func(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) }) >= 0:
		return "Name holds a control or formatting character; use plain text"
	}
	return ""
}

// brandStyle is the validated Brand, ready for the pages.
type brandStyle struct {
	Brand
	light, dark scheme
}

// validateBrand checks b and returns it with Logo in the form it will be
// written (sanitizeLogo), or the problems found, each saying what to do.
func validateBrand(b Brand) (brandStyle, []string) {
	var problems []string
	if msg := checkBrandName(b.Name); msg != "" {
		problems = append(problems, msg)
	}
	if b.Logo != "" && b.LogoURL != "" {
		problems = append(problems, "Logo and LogoURL are both set; set one")
	}
	if (b.Logo != "" || b.LogoURL != "") && b.Name == "" {
		problems = append(problems, "a logo needs Name: it is the logo's text alternative")
	}
	if b.Logo != "" {
		logo, err := sanitizeLogo(b.Logo)
		if err != nil {
			problems = append(problems, "Logo: "+err.Error())
		}
		b.Logo = logo
	}
	if b.LogoURL != "" {
		if v, ok := safeReturnTo(b.LogoURL); !ok || v != b.LogoURL {
			problems = append(problems, fmt.Sprintf("LogoURL %q must be a path on the application's own origin, such as /static/logo.png (no scheme, no host); put an inline logo in Logo", b.LogoURL))
		}
	}
	light, dark, problem := palettes(b.Accent)
	if problem != "" {
		problems = append(problems, problem)
	}
	return brandStyle{Brand: b, light: light, dark: dark}, problems
}
