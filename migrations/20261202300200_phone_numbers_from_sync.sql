-- Phone numbers were a plain insert: an owner could register any number (someone else's), which
-- then could never be added by its real owner, and whose webhooks landed in the squatter's
-- business. A number now comes only from the business's own verified Twilio account, imported by
-- twilio-sync (service role), which lists the account's IncomingPhoneNumbers. Owners keep what is
-- theirs to choose: the friendly name, whether rotation uses it, whether it is a WhatsApp sender,
-- and removing it from the business.
drop policy "Owners can add numbers to their tenant" on public.phone_numbers;
revoke insert on public.phone_numbers from authenticated;
revoke update (e164, twilio_sid, sms, mms, voice) on public.phone_numbers from authenticated;
