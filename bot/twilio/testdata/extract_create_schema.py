# Extracts the Messages create form schema, the AccountSid path parameter and
# the documented 201 example from twilio_api_v2010_messages.json (twilio/twilio-oai,
# MIT) into ../twiliotest/messages_create.json, which the Messages API stand-in embeds.
#   python3 testdata/extract_create_schema.py  (run from bot/twilio)
import json
src = json.load(open("testdata/twilio_api_v2010_messages.json"))
op = src["paths"]["/2010-04-01/Accounts/{AccountSid}/Messages.json"]["post"]
form = op["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
props = {}
for name, p in sorted(form["properties"].items()):
    if "$ref" in p:
        ref = src["components"]["schemas"][p["$ref"].split("/")[-1]]
        p = {"type": ref.get("type", "string"), "enum": ref.get("enum")}
    props[name] = {k: p[k] for k in ("type", "pattern", "enum", "minLength", "maxLength") if p.get(k) is not None}
account = [x for x in op["parameters"] if x["name"] == "AccountSid"][0]["schema"]
out = {
    "source": "twilio/twilio-oai spec/json/twilio_api_v2010.json, Messages resource (MIT), via shared/fixtures/twilio/twilio_api_v2010_messages.json; extracted by testdata/extract_create_schema.py",
    "account_sid": account,
    "required": form.get("required", []),
    "properties": props,
    "example_201": op["responses"]["201"]["content"]["application/json"]["examples"]["create"]["value"],
}
json.dump(out, open("twiliotest/messages_create.json", "w"), indent=1, ensure_ascii=False)
