// A SMART on FHIR standalone launch with the fhirclient library (npm), as
// a third-party app would do it, against a sharedcare server: the app
// asks the server's authorization server (found through
// .well-known/smart-configuration) for a patient's record, the user signs
// in, and the app reads the record with the token it got.
//
//   npm install && node standalone.js FHIR_BASE USERNAME PASSWORD
//
// (USERNAME and PASSWORD are a patient's from `sharedcare demo`'s list.)
// The app listens on http://localhost:8000, the redirect URI the demo
// registers for its public app "demo-app"; this script also plays the
// browser, signing in on the server's sign-in page. It prints what the app
// read as JSON and exits 0, or explains and exits 1.
"use strict";
const http = require("http");
const smart = require("fhirclient");

const [base, username, password] = process.argv.slice(2);
if (!base || !username || !password) {
  console.error("usage: node standalone.js FHIR_BASE USERNAME PASSWORD");
  process.exit(2);
}
const app = "http://localhost:8000";

// fhirclient keeps the launch's state in a session; one user here, so
// one in-memory session.
const mem = {};
const storage = {
  async get(k) { return mem[k]; },
  async set(k, v) { mem[k] = v; return v; },
  async unset(k) { const had = k in mem; delete mem[k]; return had; },
};

let result;
const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, app);
  try {
    if (url.pathname === "/launch") {
      await smart(req, res, storage).authorize({
        iss: base,
        clientId: "demo-app",
        scope: "openid fhirUser launch/patient patient/*.rs",
        redirectUri: app + "/",
        pkceMode: "required",
      });
      return;
    }
    const client = await smart(req, res, storage).ready();
    const patient = await client.patient.read();
    const obs = await client.request("Observation?patient=" + client.patient.id + "&_summary=count");
    result = { patient: client.patient.id, name: patient.name && patient.name[0], observations: obs.total, user: client.getFhirUser() };
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(result));
  } catch (e) {
    res.writeHead(500);
    res.end(String((e && e.stack) || e));
  }
});

// browser follows redirects by hand, keeping cookies per host.
const jar = {};
async function browse(url, init = {}) {
  for (let i = 0; i < 10; i++) {
    const u = new URL(url);
    const headers = Object.assign({}, init.headers);
    if (jar[u.host]) headers.cookie = Object.entries(jar[u.host]).map(([k, v]) => k + "=" + v).join("; ");
    const resp = await fetch(url, Object.assign({}, init, { headers, redirect: "manual" }));
    for (const c of resp.headers.getSetCookie()) {
      const [kv] = c.split(";");
      const at = kv.indexOf("=");
      (jar[u.host] = jar[u.host] || {})[kv.slice(0, at)] = kv.slice(at + 1);
    }
    if (resp.status >= 300 && resp.status < 400) {
      url = new URL(resp.headers.get("location"), url).href;
      init = {};
      continue;
    }
    return { url, status: resp.status, body: await resp.text() };
  }
  throw new Error("too many redirects");
}

server.listen(8000, "127.0.0.1", async () => {
  try {
    const page = await browse(app + "/launch");
    const field = (name) => {
      const m = page.body.match(new RegExp('name="' + name + '" value="([^"]*)"'));
      if (!m) throw new Error("no " + name + " on the sign-in page (" + page.status + " " + page.url + "):\n" + page.body.slice(0, 500));
      return m[1];
    };
    const action = new URL(page.body.match(/<form[^>]*action="([^"]*)"/)[1].replace(/&amp;/g, "&"), page.url).href;
    const done = await browse(action, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ id: field("id"), csrf: field("csrf"), username, password }).toString(),
    });
    if (done.status !== 200 || !result) throw new Error("the app did not get the record: " + done.status + " " + done.body.slice(0, 1000));
    console.log(JSON.stringify(result));
    process.exitCode = 0;
  } catch (e) {
    console.error(String((e && e.stack) || e));
    process.exitCode = 1;
  } finally {
    server.close();
  }
});
