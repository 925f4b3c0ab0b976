-- Telemetry metadata never keeps a secret-looking value: a BEFORE INSERT trigger replaces the value of every key
-- that looks like a password, token, secret, API key, credit card or social security number with "[REDACTED]", at
-- any depth of objects and arrays, down to a bound (deeper containers become "[TRUNCATED]", so a hostile payload
-- cannot make the recursion expensive).

SET client_min_messages = warning;

-- Whether a key looks secret: compared lower-case without separators, so api_key, apiKey and API-Key all match.
CREATE OR REPLACE FUNCTION app.is_secret_key(key text) RETURNS boolean
LANGUAGE sql IMMUTABLE
SET search_path = ''
AS $$
  SELECT regexp_replace(lower(key), '[^a-z0-9]', '', 'g')
         ~ '(password|passwd|token|secret|apikey|creditcard|cardnumber|ccnumber|cvv|ssn|socialsecurity)'
$$;
ALTER FUNCTION app.is_secret_key(text) OWNER TO floyo_owner;

CREATE OR REPLACE FUNCTION app.redact_secrets(value jsonb, depth integer DEFAULT 0) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE
SET search_path = ''
AS $$
DECLARE
  max_depth CONSTANT integer := 8;
  result jsonb;
BEGIN
  IF jsonb_typeof(value) NOT IN ('object', 'array') THEN
    RETURN value;
  END IF;
  IF depth >= max_depth THEN
    RETURN '"[TRUNCATED]"';
  END IF;
  IF jsonb_typeof(value) = 'object' THEN
    SELECT coalesce(jsonb_object_agg(e.key, CASE WHEN app.is_secret_key(e.key) THEN '"[REDACTED]"'::jsonb
                                                ELSE app.redact_secrets(e.value, depth + 1) END), '{}')
      INTO result FROM jsonb_each(value) AS e;
  ELSE
    SELECT coalesce(jsonb_agg(app.redact_secrets(e.value, depth + 1) ORDER BY e.n), '[]')
      INTO result FROM jsonb_array_elements(value) WITH ORDINALITY AS e(value, n);
  END IF;
  RETURN result;
END
$$;
ALTER FUNCTION app.redact_secrets(jsonb, integer) OWNER TO floyo_owner;

CREATE OR REPLACE FUNCTION app.redact_telemetry_meta() RETURNS trigger
LANGUAGE plpgsql
SET search_path = ''
AS $$
BEGIN
  NEW.meta := app.redact_secrets(coalesce(NEW.meta, '{}'));
  RETURN NEW;
END
$$;
ALTER FUNCTION app.redact_telemetry_meta() OWNER TO floyo_owner;

DROP TRIGGER IF EXISTS telemetry_events_redact ON api.telemetry_events;
CREATE TRIGGER telemetry_events_redact BEFORE INSERT OR UPDATE OF meta ON api.telemetry_events
  FOR EACH ROW EXECUTE FUNCTION app.redact_telemetry_meta();

REVOKE EXECUTE ON FUNCTION app.is_secret_key(text), app.redact_secrets(jsonb, integer), app.redact_telemetry_meta() FROM PUBLIC;
