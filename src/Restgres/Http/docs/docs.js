// The API docs page: Swagger UI over this server's OpenAPI 3.1 document. The page is served at the API's root for
// Accept: text/html, so the document lives at the same URL; it is fetched here (rather than by Swagger UI) to send
// the schema as Accept-Profile and the optional token, and to point relative server URLs at this URL.
(function () {
  'use strict';
  var config = JSON.parse(document.getElementById('rg-config').textContent);
  var root = window.location.origin + window.location.pathname;
  var schemaSelect = document.getElementById('rg-schema');
  var tokenInput = document.getElementById('rg-token');
  var status = document.getElementById('rg-status');
  var state = { schema: config.schemas[0], token: sessionStorage.getItem('restgres-docs-token') || '' };
  tokenInput.value = state.token;

  if (config.schemas.length > 1) {
    config.schemas.forEach(function (s) {
      var option = document.createElement('option');
      option.value = s;
      option.textContent = s;
      schemaSelect.appendChild(option);
    });
    document.getElementById('rg-schema-field').hidden = false;
    schemaSelect.addEventListener('change', function () { state.schema = schemaSelect.value; load(); });
  }
  document.getElementById('rg-token-form').addEventListener('submit', function (e) {
    e.preventDefault();
    state.token = tokenInput.value.trim();
    sessionStorage.setItem('restgres-docs-token', state.token);
    load();
  });

  function authorize(headers) {
    if (state.token && !headers.Authorization) headers.Authorization = 'Bearer ' + state.token;
    return headers;
  }

  function load() {
    status.textContent = 'Loading…';
    var headers = authorize({ Accept: config.mediaType });
    if (config.schemas.length > 1) headers['Accept-Profile'] = state.schema;
    fetch(root, { headers: headers })
      .then(function (res) {
        return res.json().then(function (body) {
          if (!res.ok) throw new Error((body && body.message) || res.statusText);
          return body;
        });
      })
      .then(function (spec) {
        // A relative server URL ("/") means "where the document came from": make it absolute for the try-it-out calls.
        (spec.servers || []).forEach(function (s) { if (!/^[a-z]+:/i.test(s.url)) s.url = root; });
        status.textContent = '';
        // Large schemas: start with the tags folded and offer the tag filter, so the page stays responsive.
        var large = Object.keys(spec.paths || {}).length > 30;
        SwaggerUIBundle({
          dom_id: '#swagger-ui',
          spec: spec,
          deepLinking: true,
          docExpansion: large ? 'none' : 'list',
          defaultModelsExpandDepth: large ? -1 : 1,
          filter: large,
          presets: [SwaggerUIBundle.presets.apis],
          requestInterceptor: function (req) {
            authorize(req.headers);
            return req;
          }
        });
      })
      .catch(function (err) { status.textContent = 'Could not load the API description: ' + err.message; });
  }

  load();
})();
