"""Jailbreaks: perturbations of the request, in the family "jailbreak", so a safety run evaluates every instance
plain and under each one (stats per jailbreak and the worst case over them, through the variant machinery).

Every template was written for tony; the catalog names them by "module:attr", so nothing here is imported until a
run asks for it:

- `instructions`: `prefix_injection`, `refusal_suppression`, `role_play`;
- `encodings`: `base64` (decodes back to the request), `language_switch` (target=pig_latin|rot13|leetspeak);
- `payload_splitting`: the request cut into variables to be joined (joins back to the request);
- `few_shot`: `few_shot_compliance`, a made-up transcript of an assistant that helps with everything.
"""
