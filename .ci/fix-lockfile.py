# The registry mirror here serves only the linux builds of @bufbuild/buf, so npm
# leaves the other platforms' optional packages out of the lockfile and `npm ci`
# then refuses it. Describe them (os/cpu) so npm ci skips them on linux.
import json, collections
p='package-lock.json'
lock=json.load(open(p), object_pairs_hook=collections.OrderedDict)
pk=lock['packages']
plat={'darwin-arm64':('darwin','arm64'),'darwin-x64':('darwin','x64'),'linux-armv7':('linux','arm'),'win32-arm64':('win32','arm64'),'win32-x64':('win32','x64')}
for suffix,(os_,cpu) in plat.items():
    key=f'node_modules/@bufbuild/buf-{suffix}'
    if key in pk: continue
    pk[key]=collections.OrderedDict([('version','1.75.0'),('cpu',[cpu]),('dev',True),('license','Apache-2.0'),('optional',True),('os',[os_]),('engines',{'node':'>=12'})])
lock['packages']=collections.OrderedDict(sorted(pk.items(), key=lambda kv: (kv[0]!='', kv[0])))
json.dump(lock, open(p,'w'), indent=2); open(p,'a').write('\n')
