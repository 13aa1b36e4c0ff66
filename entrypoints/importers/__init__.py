"""``ledger import PLATFORM FILE...``: moving in from Rewardful, PartnerStack, FirstPromoter
and Tolt (their API's JSON saved as files, their CSV exports, or fetched with the API key),
mapped to this ledger's commands and applied through the bus."""
