// Starts nhsuk-frontend's components (header menu, tabs, character counts and
// the rest) from a file, so pages need no inline script under a strict CSP.
import { initAll } from "./vendor/nhsuk-frontend-10.6.1/nhsuk-frontend.min.js";

initAll();
