/** The XML declaration and namespaces createrepo_c writes; yum and dnf match on these URIs. */
export const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n';
export const COMMON_NS = 'http://linux.duke.edu/metadata/common';
export const FILELISTS_NS = 'http://linux.duke.edu/metadata/filelists';
export const OTHER_NS = 'http://linux.duke.edu/metadata/other';
export const REPO_NS = 'http://linux.duke.edu/metadata/repo';
export const RPM_NS = 'http://linux.duke.edu/metadata/rpm';
