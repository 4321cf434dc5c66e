// Strings of the administration page, one table per language like the dashboard's (English only
// so far). Each table starts from the dashboard's, which has the strings api.js needs
// (unreachable, signedOut, requestFailed). `{key}` is filled in by `format` from
// /dashboard/strings.js.
import { STRINGS as DASHBOARD } from '/dashboard/strings.js';

const en = {
  signedInAs: 'Signed in as {name}.',
  pageUnreachable: 'The server could not be reached. Reload the page to try again.',

  // Sites (sites.js).
  loadingSites: 'Loading sites…',
  sitesShown: '{n} sites.',
  sitesShownOne: '1 site.',
  sitesShownNone: 'No sites yet.',
  noOrigins: 'None: the widget cannot start on any page.',
  edit: 'Edit',
  editWho: ' site {key}',
  delete: 'Delete',
  deleteWho: ' site {key}',
  confirmDelete: 'Confirm delete',
  confirmDeleteWho: ' of site {key}',
  cancel: 'Cancel',
  cancelDeleteWho: ' deleting site {key}',
  deleteWarning: 'The chat widget stops working on this site’s pages.',
  deleting: 'Deleting…',
  siteDeleted: 'Site {key} deleted.',
  addSite: 'Add a site',
  changeSite: 'Change site {key}',
  saveSite: 'Save site',
  saveChanges: 'Save changes',
  savingSite: 'Saving site {key}…',
  siteSaved: 'Site {key} saved.',
  siteKeyMissing: 'Enter a site key.',
  siteKeyInvalid: 'A site key has 1 to 64 letters, digits, - or _ (no spaces).',
  siteNameMissing: 'Enter a name for the site.',
  siteNameTooLong: 'A site name has at most 100 characters.',
  tooManyOrigins: 'A site has at most 50 allowed origins.',
  snippetHost: 'YOUR-CHAT-ADDRESS',

  // Canned responses (canned.js).
  loadingCanned: 'Loading canned responses…',
  cannedShown: '{n} canned responses.',
  cannedShownOne: '1 canned response.',
  cannedShownNone: 'No canned responses yet.',
  yes: 'Yes',
  no: 'No',
  deleteCannedWho: ' canned response /{shortcut}',
  cannedDeleted: 'Canned response /{shortcut} deleted.',
  cannedGone: 'Canned response /{shortcut} had already been deleted.',
  addingCanned: 'Adding canned response /{shortcut}…',
  cannedAdded: 'Canned response /{shortcut} added.',
  cannedAddedShared: 'Shared canned response /{shortcut} added.',
  shortcutMissing: 'Enter a shortcut.',
  shortcutInvalid: 'A shortcut has 1 to 32 letters, digits, - or _ (no spaces).',
  cannedTextMissing: 'Enter the text of the response.',
  cannedTextTooLong: 'The text has at most 4,000 characters.',
};

export const STRINGS = { en: { ...DASHBOARD.en, ...en } };

export function strings() {
  return STRINGS[document.documentElement.lang] || STRINGS.en;
}
