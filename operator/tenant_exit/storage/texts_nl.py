"""Nederlandse teksten voor de klant (Dutch texts; see texts.py for the fields)."""

from __future__ import annotations

from tenant_exit.storage.texts import Texts

README = """\
{title}
{underline}

MET DEZE BACK-UP KUNT U DE APPLICATIE NIET HERSTELLEN.
Het is een archief voor uw wettelijke bewaarplicht (medische dossiers moeten
vele jaren bewaard blijven) en voor analyse. Het is geen herstelpunt: de
applicatie kan er niet mee opnieuw worden gestart of hersteld.

{request}

Wat erin zit ({tables} tabellen, {rows} rijen, {files} documenten)
  manifest.json                                    (de inhoudsopgave van deze back-up)
{objects}

Bewust weggelaten
{excluded}

0. Download precies deze map
     {where}
   (bijvoorbeeld: aws s3 cp --recursive {where} ./backup/). Andere mappen
   attempt-* ernaast bevatten mislukte pogingen: gebruik die niet.

1. Controleer de handtekening en de controlegetallen van wat u downloadde
   Het platform heeft manifest.json ondertekend (handtekening in
   manifest.json.sig) met deze publieke sleutel:
     {public_key}
   Eén opdracht controleert de handtekening en elk bestand tegen het manifest:
     tenant-exit verify --public-key {public_key} --directory . manifest.json
   De SHA-256 van manifest.json is:
     {manifest_sha256}
   (controleer dit met: sha256sum manifest.json). Zonder het hulpprogramma:
   vergelijk `sha256sum <bestand>` met de "sha256" van elk object in
   manifest.json.

2. Ontsleutel en pak uit (hulpprogramma's: age, https://age-encryption.org, en zstd)
     age --decrypt -i your-identity.txt database-<schema>.sql.zst.age | zstd -d > <schema>.sql
     age --decrypt -i your-identity.txt documents-<claim>.tar.zst.age | zstd -d > <claim>.tar
   Alleen wie de privésleutel (age-identiteit) heeft die past bij de
   ontvangers in manifest.json kan ontsleutelen; het platform heeft die
   sleutel nooit gehad.{classical_note}

3. Controleer de ontsleutelde bestanden
   Vergelijk `sha256sum <schema>.sql` en `sha256sum <claim>.tar` met de
   "plaintextSha256" van elk object in manifest.json.

4. Bevestig de ontvangst
   Klopt alles, bevestig dan de ontvangst en noem daarbij het controlegetal
   (SHA-256) van het manifest hierboven: pas daarna verwijdert het platform
   uw omgeving.

5. Lees de gegevens
   De SQL-dump is in het eigen dialect van de bronserver ("serverFamily" in
   manifest.json: mysql of mariadb): laad hem in een leeg schema op een server
   van die familie, van dezelfde of een nieuwere versie
   (mysql <schema> < <schema>.sql), aangemaakt met de "characterSet" en
   "collation" van het schema uit manifest.json. Pak de
   documenten uit met tar -xf <claim>.tar. Het datawoordenboek
   (data-dictionary.md / .json) beschrijft elke tabel en kolom.
   Of in één stap, met het hulpprogramma tenant-exit (een Python-pakket dat
   uw contactpersoon bij het platform u geeft: pip install <het pakketbestand>;
   geen Kubernetes nodig):
     tenant-exit load manifest.json --identity your-identity.txt --host <server> --user <account>
   dat controleert, ontsleutelt, laadt zonder SUPER-recht (DEFINER-clausules
   worden verwijderd) en per tabel het aantal rijen vergelijkt met dit manifest.

6. Na de verwijdering
   Uw contactpersoon bij het platform stuurt u deletion-certificate.json, de
   verklaring van vernietiging, ondertekend zoals het manifest
   (deletion-certificate.json.sig); na de verwijdering staat die ook in de
   map hierboven. Controleer hem met dezelfde opdracht tenant-exit verify als
   in stap 1, uitgevoerd in een map waarin beide staan.

Manifest: {manifest_key}
Back-up voltooid: {completed_at}
"""

TEXTS = Texts(
    language="nl",
    readme_title="BACK-UP VAN UW GEGEVENS — {exit_name}",
    readme=README,
    readme_where_unknown="de map van manifest.json",
    readme_request=(
        "Uw verzoek\n"
        "  Deze beëindiging is op uw verzoek uitgevoerd: ticket {ticket}, aangevraagd\n"
        "  door {requested_by} op {requested_at}."
    ),
    readme_no_request="Uw verzoek\n  Voor deze beëindiging is geen verzoekreferentie vastgelegd.",
    excluded_tables="  databasetabellen die passen bij {patterns} ({reason}); precies deze,\n"
                    "  geen ervan zit in deze back-up:",
    excluded_table="    {schema}.{table}: {rows} rijen, weggelaten door de regel {pattern}",
    excluded_table_no_rows="    {schema}.{table}: geen rijen (een view of sequence), weggelaten "
                           "door de regel {pattern}",
    excluded_files="  bestanden in {claim} die passen bij {patterns} ({reason})",
    excluded_nothing="  niets",
    classical_note="""
   LET OP: deze back-up is alleen versleuteld voor klassieke (X25519)
   age-sleutels. Een toekomstige quantumcomputer zou hem kunnen ontsleutelen
   binnen de 20 jaar dat hij bewaard moet blijven. Versleutel hem voor de
   lange termijn opnieuw voor een post-quantumsleutel (age-keygen -pq, age 1.3
   of nieuwer): ontsleutel, dan age -r age1pq1... .""",
    restore_verified=(
        "Hersteltest\n-----------\n"
        "Tijdens het dumpen van de database is dezelfde SQL geladen in een tijdelijke "
        "databaseserver ({scratch}) en vergeleken met de bron: {tables} tabellen ({rows} rijen, "
        "aantal rijen en inhoudsdigest per tabel) en {definitions} definities (tabellen, views, "
        "routines, triggers, events) kwamen overeen. De details staan in manifest.json, "
        "onderdeel \"verification\". Dit bewijst dat het archief in een databaseserver laadt. "
        "Het betekent NIET dat de applicatie uit deze back-up hersteld kan worden: dat kan "
        "niet.\n"),
    retention_note=(
        "Schrijfbeveiliging\n------------------\n"
        "Elk object van deze back-up en manifest.json staan onder S3 Object Lock ({mode}) "
        "tot ten minste {retain_until}: tot dan kan niemand ze in deze bucket verwijderen "
        "of overschrijven. De datum wordt verlengd wanneer u de ontvangst bevestigt, zodat "
        "de wachttijd voor de verwijdering gedekt is.\n"),
    restore_unknown=(
        "Hersteltest\n-----------\n"
        "Het archief is NIET proefgeladen in een databaseserver ({reason}); de objecten zijn "
        "alleen met hun digests gecontroleerd. Het kan de applicatie niet herstellen.\n"),
    restore_off=(
        "Hersteltest\n-----------\n"
        "Het archief is NIET proefgeladen in een databaseserver: de test stond uit "
        "({off_reason}). De objecten zijn alleen met hun digests gecontroleerd. Het kan de "
        "applicatie niet herstellen.\n"),
    certificate_summary="""\
Verklaring van vernietiging voor {exit_name}

De tenantomgeving {exit_name} is op {completed_at} onomkeerbaar verwijderd.
Verwijderd: de namespace {namespace} (uid {namespace_uid}) met alles erin,
{volumes} persistent volume(s) met hun gegevens en {databases} databaseschema('s).
{request}
De verwijdering volgde op de bevestiging door {confirmed_by} op {confirmed_at}
dat de back-up is ontvangen; de manifest.json van die back-up heeft SHA-256
{manifest_sha256}.
""",
    certificate_request=(
        "Dit is aangevraagd in ticket {ticket} door {requested_by} op {requested_at}."
    ),
    certificate_no_request="Voor deze beëindiging is geen verzoekreferentie vastgelegd.",
)
