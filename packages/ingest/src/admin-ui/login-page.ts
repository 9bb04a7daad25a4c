/** The admin UI's login page (pure): a form that posts the admin token once, never in a URL. */
export function loginPage(options: {
  action: string;
  failed: boolean;
  sessionTtl: string;
}): string {
  const message = options.failed
    ? '<p class="error" role="alert">That token is not accepted here.</p>'
    : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>flow-dispatcher admin: log in</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; background: #f4f5f7; color: #1d2330; margin: 0; }
  main { max-width: 26rem; margin: 12vh auto; background: #fff; padding: 2rem; border-radius: 8px;
         box-shadow: 0 1px 4px rgba(0,0,0,.12); }
  h1 { font-size: 1.25rem; margin: 0 0 1rem; }
  label { display: block; margin-bottom: .25rem; }
  input[type=password] { width: 100%; box-sizing: border-box; padding: .5rem; font: inherit; }
  button { margin-top: 1rem; padding: .5rem 1.25rem; font: inherit; cursor: pointer; }
  .error { color: #b00020; }
  .hint { color: #5a6270; font-size: .875rem; margin-top: 1.5rem; }
</style>
</head>
<body>
<main>
  <h1>flow-dispatcher admin</h1>
  ${message}
  <form method="post" action="${options.action}">
    <label for="token">Admin token</label>
    <input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
    <button type="submit">Log in</button>
  </form>
  <p class="hint">Use one of ADMIN_TOKENS (ingest tokens are not accepted here).
  The login lasts ${options.sessionTtl} in this browser.</p>
</main>
</body>
</html>
`;
}
